"""Fixtures that run real Syncthing clusters on 127.0.0.1; load with
``pytest_plugins = ["tests.support.cluster_fixtures"]``.

Clusters are module-scoped where tests can share one (start ~1 s, ~80 MB a node);
``make_cluster`` builds a fresh one per test for tests that break things. Every node is ended
by the fixture finaliser even when the test fails: discarded (``tests.support.cluster.discard``,
~0 s) rather than stopped gracefully (0.2-1 s, or 10 s on 1.29.5 just after a connection).
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import pytest

from tests.support.cluster import MakeCluster, load_spec, running
from tests.support.syncthing_bin import SYNCTHING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec

__all__ = ["make_cluster", "pair", "syncthing_bin", "trio"]


@pytest.fixture(scope="session")
def syncthing_bin() -> str:
    """The syncthing binary; missing means skip locally and fail in CI."""
    if SYNCTHING:
        return SYNCTHING
    reason = "syncthing is not installed (apt-get install syncthing)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory, syncthing_bin: str) -> Iterator[Cluster]:
    """alpha, beta, gamma in a full mesh, shared by the tests of one module."""
    with running(load_spec("trio"), tmp_path_factory.mktemp("trio"), syncthing_bin) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, syncthing_bin: str) -> Iterator[Cluster]:
    """alpha and beta (alpha seeded with one session), shared by the tests of one module."""
    with running(load_spec("pair"), tmp_path_factory.mktemp("pair"), syncthing_bin) as cluster:
        yield cluster


@pytest.fixture
def make_cluster(tmp_path: Path, syncthing_bin: str) -> Iterator[MakeCluster]:
    """Factory for clusters owned by one test: ``make_cluster("pair")``."""
    with contextlib.ExitStack() as stack:

        def make(spec: str | ClusterSpec) -> Cluster:
            resolved = load_spec(spec)
            root = tmp_path / f"cluster-{resolved.name}"
            return stack.enter_context(running(resolved, root, syncthing_bin))

        yield make
