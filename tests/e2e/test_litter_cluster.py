"""A temp a killed roam left in the synced folder, on real Syncthing nodes: it never travels,
`roam rm` removes the session folder that holds it on every machine, and a merge killed
while the other machine is off completes on the next run with nothing left behind."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.cluster import wait_until
from tests.support.crash import run_roam
from tests.support.litter import dead_temp_name

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from tests.support.cluster import MakeCluster

pytestmark = pytest.mark.e2e

SESSION = "3e0a4b1c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
FOLDER = f"-home-user-proj/{SESSION}"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_a_dead_temp_stays_on_its_machine(pair: Cluster) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    temp = f"{FOLDER}/subagents/{dead_temp_name()}"
    _write(alpha.projects_dir / temp, b"half a merge\n")
    _write(alpha.projects_dir / f"{FOLDER}/marker.jsonl", b"{}\n")
    wait_until(lambda: (beta.projects_dir / f"{FOLDER}/marker.jsonl").exists(), what="marker")
    pair.wait_in_sync()
    assert not (beta.projects_dir / temp).exists()


def _env(node: ClusterNode) -> dict[str, str]:
    return {
        "HOME": str(node.home),
        "CLAUDE_CONFIG_DIR": str(node.claude_dir),
        "ROAM_SYNCTHING_HOME": str(node.syncthing_home),
    }


def test_a_session_folder_holding_a_dead_temp_is_removed_whole_by_roam_rm(pair: Cluster) -> None:
    # Deletions no longer travel through Syncthing (ignoreDelete, docs/design/deletions.md):
    # the one removal that does is `roam rm`, applied by each machine's roam from a tombstone.
    alpha, beta = pair["alpha"], pair["beta"]
    transcript = f"-home-user-proj/{SESSION}.jsonl"
    agent = f"{FOLDER}/subagents/agent-a1.jsonl"
    _write(alpha.projects_dir / transcript, _row(1, None, "to be removed"))
    _write(alpha.projects_dir / agent, b'{"type":"user"}\n')
    wait_until(lambda: (beta.projects_dir / agent).exists(), what="the subagent file on beta")
    _write(beta.projects_dir / f"{FOLDER}/subagents/{dead_temp_name()}", b"half a write\n")
    removed = run_roam(0, "rm", SESSION, "--yes", env=_env(alpha))
    assert removed.returncode == 0, removed.stderr
    stone = beta.projects_dir / f".roam/tombstones/{SESSION}.json"
    wait_until(stone.is_file, what="the tombstone on beta")
    healed = run_roam(0, "restore", "--all", "--json", env=_env(beta))
    assert healed.returncode == 0, healed.stderr
    assert not (beta.projects_dir / FOLDER).exists()
    assert not (beta.projects_dir / transcript).exists()


def _row(uuid: int, parent: int | None, text: str) -> bytes:
    parent_id = "null" if parent is None else f'"00000000-0000-4000-8000-{parent:012d}"'
    return (
        f'{{"type":"user","uuid":"00000000-0000-4000-8000-{uuid:012d}","parentUuid":{parent_id},'
        f'"sessionId":"{SESSION}","cwd":"/home/user/proj",'
        f'"timestamp":"2026-11-25T12:00:0{uuid}.000Z","message":{{"role":"user","content":"{text}"}}}}\n'
    ).encode()


def _temps(node: ClusterNode) -> list[Path]:
    return sorted(node.projects_dir.rglob(".roam-tmp-*"))


def test_a_merge_killed_while_the_peer_is_off_completes_and_leaves_nothing(
    make_cluster: MakeCluster,
) -> None:
    cluster = make_cluster("pair")
    alpha, beta = cluster["alpha"], cluster["beta"]
    main = f"-home-user-proj/{SESSION}.jsonl"
    copy = f"-home-user-proj/{SESSION}.sync-conflict-20261125-120002-ABCDEFG.jsonl"
    base = _row(1, None, "base")
    _write(alpha.projects_dir / main, base + _row(2, 1, "from alpha"))
    _write(alpha.projects_dir / copy, base + _row(3, 1, "from beta"))
    cluster.wait_in_sync()
    cluster.pause("beta")
    on_alpha = _env(alpha)
    # killed just before the merged file replaces the session: its temp is written, not renamed
    killed = run_roam(f"replace@{main}:1", "conflicts", "merge", "--all", env=on_alpha)
    assert killed.returncode == -9, killed.stderr
    assert len(_temps(alpha)) == 1
    done = run_roam(0, "conflicts", "merge", "--all", env=on_alpha)
    assert done.returncode == 0, done.stderr
    assert _temps(alpha) == []
    cluster.resume("beta")
    cluster.wait_in_sync()
    merged = (alpha.projects_dir / main).read_bytes()
    assert merged.count(b'"uuid"') == 3
    assert (beta.projects_dir / main).read_bytes() == merged
    # beta ignores alpha's deletion of the copy (docs/design/deletions.md); its own roam merges
    # it again, which changes nothing and removes it
    again = run_roam(0, "conflicts", "merge", "--all", env=_env(beta))
    assert again.returncode == 0, again.stderr
    assert (beta.projects_dir / main).read_bytes() == merged
    assert not (beta.projects_dir / copy).exists()
    assert _temps(beta) == []
