"""The set-up every cluster test of ``tests/e2e`` shares; the e2e ``conftest`` loads it.

The real Syncthing clusters of ``tests.support.cluster_fixtures`` (``pair``, ``trio``,
``make_cluster``, ``syncthing_bin``), so a test module needs no ``pytest_plugins`` line; ``roam``,
which runs roam on any node of a cluster against the test's fake Messages API; and
``connected``, the module's ``pair`` for one test that may cut it or close a lid: both machines
on and connected again afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from session_roam.engine.syncthing.node import SyncthingProcess
from tests.e2e.cr_support import Roam, protect_markers
from tests.support.cluster import reconnect
from tests.support.cluster_fixtures import make_cluster, pair, syncthing_bin, trio

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster
    from tests.support.claude import ClaudeDriver

__all__ = ["connected", "make_cluster", "pair", "roam", "syncthing_bin", "trio"]


@pytest.fixture
def roam(claude: ClaudeDriver, claude_bin: Path, project_cwd: Path) -> Roam:
    """``roam`` on the nodes of this test's cluster, in ``project_cwd``, with the real client."""
    return Roam(claude=claude, claude_bin=claude_bin, cwd=project_cwd)


@pytest.fixture
def connected(pair: Cluster) -> Iterator[Cluster]:
    """The module's pair, with every node on, resumed and connected again after the test."""
    protect_markers(pair)
    yield pair
    for node in pair.nodes:
        if node.process is None:  # a closed lid opens again
            node.process = SyncthingProcess(
                node.syncthing_home, binary=pair.binary, env={"HOME": str(node.home)}
            ).start()
    reconnect(pair)
