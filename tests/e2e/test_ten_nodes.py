"""Ten real Syncthing machines in a full mesh work end to end (issue 21: ten nodes as five).

A turn made with ``roam cr`` on one machine reaches all nine others and is what another
machine's ``roam cr`` resumes; ``roam verify`` finds nothing to warn about on two of them.
The cluster is shared by the module's tests (ten nodes start in a few seconds, ~80 MB each).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

import pytest

from session_roam.engine.claude.cleanup import SAFE_CLEANUP_DAYS
from tests.e2e.cr_support import home_of, protect_markers, roam_env, run_roam, sent_user_texts
from tests.support.cluster import load_spec, running, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster
    from tests.support.claude import ClaudeDriver
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e

NODES: Final = 10


@pytest.fixture(scope="module")
def ten(tmp_path_factory: pytest.TempPathFactory, syncthing_bin: str) -> Iterator[Cluster]:
    """Ten machines, each with Claude Code's clean-up made harmless (as `roam verify --fix`
    leaves it), so that a clean verify means the cluster itself is in order."""
    root = tmp_path_factory.mktemp("ten")
    with running(load_spec("ten"), root, syncthing_bin) as cluster:
        protect_markers(cluster)
        for node in cluster.nodes:
            settings = {"cleanupPeriodDays": SAFE_CLEANUP_DAYS}
            (node.claude_dir / "settings.json").write_text(json.dumps(settings))
        yield cluster


def test_ten_nodes_the_cluster_is_a_full_mesh_of_ten(ten: Cluster) -> None:
    for node in ten.nodes:
        connected = {d for d, c in node.client.connections().items() if c.connected}
        assert connected == {p.device_id for p in ten.nodes if p is not node}
    assert len(ten.nodes) == NODES


def test_ten_nodes_a_turn_made_with_roam_cr_reaches_every_node_and_is_resumed_on_another(
    ten: Cluster,
    claude: ClaudeDriver,
    claude_bin: Path,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    alpha, kappa = ten["alpha"], ten["kappa"]
    session = claude.new(home_of(alpha), project_cwd, "one on alpha").session_id
    on_alpha = run_roam(
        ["cr", session, "--", "-p", "two on alpha"],
        cwd=project_cwd,
        env=roam_env(claude, alpha, claude_bin),
    )
    assert on_alpha.returncode == 0, on_alpha.stderr
    (source,) = alpha.projects_dir.glob(f"*/{session}.jsonl")
    relative = source.relative_to(alpha.projects_dir)
    written = source.read_bytes()

    def everywhere() -> bool:
        copies = [node.projects_dir / relative for node in ten.nodes]
        return all(c.is_file() and c.read_bytes() == written for c in copies)

    wait_until(everywhere, timeout_s=30, what="alpha's turn on all ten nodes")
    mark = fake_api.mark()
    on_kappa = run_roam(
        ["cr", session, "--", "-p", "three on kappa"],
        cwd=project_cwd,
        env=roam_env(claude, kappa, claude_bin),
    )
    assert on_kappa.returncode == 0, on_kappa.stderr
    assert sent_user_texts(fake_api, mark) == ["one on alpha", "two on alpha", "three on kappa"]


@pytest.mark.parametrize("name", ["alpha", "kappa"])
def test_ten_nodes_verify_exits_0_with_nothing_to_warn_about(
    ten: Cluster, claude: ClaudeDriver, claude_bin: Path, project_cwd: Path, name: str
) -> None:
    ten.wait_in_sync()
    node = ten[name]
    result = run_roam(["--json", "verify"], cwd=project_cwd, env=roam_env(claude, node, claude_bin))
    doc = json.loads(result.stdout)
    bad = [  # no roam watch runs on a test node: its one warning is not what this is about
        f["message"]
        for f in doc["findings"]
        if f["status"] in ("fail", "warn") and f["dimension"] != "watch"
    ]
    assert result.returncode == 0, bad
    assert bad == []
    peers = [f["message"] for f in doc["findings"] if f["dimension"] == "peers"]
    assert peers == [f"{NODES - 1} of {NODES - 1} peers connected and in sync."]
