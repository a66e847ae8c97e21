"""Helpers for tests that run real Syncthing clusters; the fixtures are in ``cluster_fixtures``.

Kept apart from the fixtures so test modules can import these while loading the fixtures with
``pytest_plugins = ["tests.support.cluster_fixtures"]`` (a plugin module must not be imported
before pytest registers it, or its asserts are not rewritten).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest
import tenacity

from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["CLUSTER_SPECS", "MakeCluster", "load_spec", "running", "wait_until"]

CLUSTER_SPECS = Path(__file__).resolve().parents[2] / "fixtures" / "clusters"


class MakeCluster(Protocol):
    def __call__(self, spec: str | ClusterSpec) -> Cluster: ...


def wait_until(check: Callable[[], bool], *, timeout_s: float = 15.0, what: str = "it") -> None:
    """Poll ``check`` until true (bounded), failing the test with ``what`` otherwise."""
    ok: bool = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda done: not done),
        stop=tenacity.stop_after_delay(timeout_s),
        wait=tenacity.wait_fixed(0.05),
        retry_error_callback=lambda _state: False,
    )(check)
    if not ok:
        pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")


def load_spec(spec: str | ClusterSpec) -> ClusterSpec:
    """A spec object, or the one named in ``fixtures/clusters/<name>.toml``."""
    if isinstance(spec, ClusterSpec):
        return spec
    return ClusterSpec.load(CLUSTER_SPECS / f"{spec}.toml")


@contextlib.contextmanager
def running(spec: ClusterSpec, root: Path, binary: str) -> Iterator[Cluster]:
    with Cluster(spec, root, binary=binary) as cluster:
        yield cluster
