"""Real Syncthing nodes on 127.0.0.1 carry sessions the way roam relies on."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.syncthing.cluster import Cluster
from tests.support.cluster import connections_started, load_spec, running, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.support.cluster import MakeCluster

pytestmark = pytest.mark.e2e

SESSION = "-home-user-proj/5f0c2a8e-1b7d-4c3e-9f00-0123456789ab.jsonl"
SUBAGENT = "-home-user-proj/5f0c2a8e-1b7d-4c3e-9f00-0123456789ab/subagents/agent-a1.jsonl"
MEMORY = "-home-user-proj/memory/MEMORY.md"


def _row(text: str) -> bytes:
    return ('{"type":"user","message":{"content":"' + text + '"}}\n').encode()


def _one_copy(copies: Callable[[str], list[Path]], name: str) -> bool:
    return len(copies(name)) == 1


def _write(root: Path, relative: str, data: bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _same(cluster: Cluster, node: str, relative: str, data: bytes) -> bool:
    try:
        return (cluster[node].projects_dir / relative).read_bytes() == data
    except FileNotFoundError:  # receivers replace files: the path briefly disappears
        return False


def test_cluster_session_and_sibling_folder_arrive_byte_identical(trio: Cluster) -> None:
    files = {
        SESSION: _row("héllo ✓") * 50,
        SUBAGENT: _row("subagent turn"),
        MEMORY: b"# memory\n- uses uv\n",
    }
    for relative, data in files.items():
        _write(trio["alpha"].projects_dir, relative, data)
    for node in ("beta", "gamma"):
        for relative, data in files.items():
            wait_until(partial(_same, trio, node, relative, data), what=f"{relative} on {node}")


def _holds_complete(cluster: Cluster, holder: str, relative: str) -> bool:
    """Whether alpha's /rest/db/file lists ``holder`` with the global version, pulled in full
    (an entry ``fromTemporary`` is a peer still pulling); what roam's lease barrier reads."""
    info = cluster["alpha"].client.file_info(cluster.spec.folder_id, relative)
    wanted = cluster[holder].device_id
    return info is not None and any(
        (item.get("id") == wanted and not item.get("fromTemporary", False))
        if isinstance(item, dict)
        else item == wanted
        for item in info.raw.get("availability") or ()
    )


def test_cluster_scan_then_peer_in_availability_means_peer_has_bytes(trio: Cluster) -> None:
    """A ``RemoteIndexUpdated`` from the peer is only a wake-up: on 1.29 it can be about an
    index sent before the pull finished (issue 14). The peer listed in the file's availability,
    not from a temporary file, is the proof roam relies on (lease/transport.py)."""
    alpha, beta = trio["alpha"], trio["beta"]
    relative = "-home-user-proj/handoff.jsonl"
    path = _write(alpha.projects_dir, relative, _row("base"))
    wait_until(lambda: _same(trio, "beta", relative, _row("base")))
    events = alpha.client.subscribe(["RemoteIndexUpdated"])
    with path.open("ab") as handle:
        handle.write(_row("appended"))
    alpha.client.scan(trio.spec.folder_id, relative)
    events.wait_remote_index_updated(beta.device_id, trio.spec.folder_id, timeout_s=10)
    wait_until(partial(_holds_complete, trio, "beta", relative), what="beta in availability")
    assert (beta.projects_dir / relative).read_bytes() == path.read_bytes()


def test_cluster_completion_reports_peer_in_sync_after_scan(trio: Cluster) -> None:
    _write(trio["alpha"].projects_dir, "-home-user-proj/done.jsonl", _row("x"))
    trio.wait_in_sync()
    for peer in ("beta", "gamma"):
        completion = trio["alpha"].client.completion(trio.spec.folder_id, trio[peer].device_id)
        assert completion.in_sync


def test_cluster_stignore_keeps_ignored_files_local(trio: Cluster) -> None:
    root = trio["alpha"].projects_dir
    ignored = [
        "-home-user-proj/.roam-tmp-abc123.tmp",
        "-home-user-proj/worktrees/feature/README.md",
        "-home-user-proj/.DS_Store",
        "-home-user-proj/notes.md.swp",
    ]
    for relative in ignored:
        _write(root, relative, b"local only\n")
    _write(root, "-home-user-proj/after-ignored.jsonl", _row("marker"))
    wait_until(lambda: _same(trio, "gamma", "-home-user-proj/after-ignored.jsonl", _row("marker")))
    trio.wait_in_sync()
    for node in ("beta", "gamma"):
        for relative in ignored:
            assert not (trio[node].projects_dir / relative).exists(), (node, relative)


def test_cluster_stignore_itself_stays_on_each_node(trio: Cluster) -> None:
    for node in trio.nodes:
        lines = node.client.ignores(trio.spec.folder_id).lines
        assert "(?d).roam-tmp-*" in lines


def _turn(uuid: str, parent: str | None, text: str, second: int) -> bytes:
    row = {
        "type": "user",
        "uuid": uuid,
        "parentUuid": parent,
        "sessionId": CONFLICT_SESSION,
        "cwd": "/home/user/proj",
        "timestamp": f"2026-11-25T12:00:{second:02d}.000Z",
        "message": {"role": "user", "content": text},
    }
    return (json.dumps(row, separators=(",", ":")) + "\n").encode()


CONFLICT_SESSION = "7d1c2b3a-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
BASE_UUID = "00000000-0000-4000-8000-000000000001"
ALPHA_UUID = "00000000-0000-4000-8000-00000000000a"
BETA_UUID = "00000000-0000-4000-8000-00000000000b"


def test_cluster_conflict_while_peer_paused_appears_as_syncthing_names_it(
    make_cluster: MakeCluster, tmp_path: Path
) -> None:
    cluster = make_cluster("pair")
    alpha, _beta = cluster["alpha"], cluster["beta"]
    relative = f"-home-user-proj/{CONFLICT_SESSION}.jsonl"
    base = _turn(BASE_UUID, None, "base", 0)
    _write(alpha.projects_dir, relative, base)
    wait_until(lambda: _same(cluster, "beta", relative, base), what="base on beta")
    cluster.pause("beta")
    turns = {
        "alpha": _turn(ALPHA_UUID, BASE_UUID, "from alpha", 1),
        "beta": _turn(BETA_UUID, BASE_UUID, "from beta", 2),
    }
    for name, turn in turns.items():
        with (cluster[name].projects_dir / relative).open("ab") as handle:
            handle.write(turn)
        cluster[name].client.scan(cluster.spec.folder_id, relative)
    cluster.resume("beta")

    def conflict_copies(node: str) -> list[Path]:
        folder = (cluster[node].projects_dir / relative).parent
        return sorted(folder.glob(f"{CONFLICT_SESSION}.sync-conflict-*-???????.jsonl"))

    for name in ("alpha", "beta"):
        wait_until(partial(_one_copy, conflict_copies, name), what=f"conflict copy on {name}")
    cluster.wait_in_sync()
    kept = [(alpha.projects_dir / relative).read_bytes(), conflict_copies("alpha")[0].read_bytes()]
    assert sorted(kept) == sorted([base + turns["alpha"], base + turns["beta"]])
    assert conflict_copies("beta")[0].read_bytes() == conflict_copies("alpha")[0].read_bytes()


def test_cluster_conflict_merged_on_one_node_is_gone_on_all(
    make_cluster: MakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`roam conflicts merge` on alpha: one file with every turn, no copies, on both nodes.

    Every roam folder ignores peers' deletions (docs/design/deletions.md), so beta keeps its
    copy until its own roam merges it again, as its `roam watch` does: the second merge finds
    every record already in the file and only removes the copy, rewriting nothing.
    """
    cluster = make_cluster("pair")
    alpha = cluster["alpha"]
    relative = f"-home-user-proj/{CONFLICT_SESSION}.jsonl"
    base = _turn(BASE_UUID, None, "base", 0)
    copy = f"-home-user-proj/{CONFLICT_SESSION}.sync-conflict-20261125-120002-ABCDEFG.jsonl"
    _write(alpha.projects_dir, relative, base + _turn(ALPHA_UUID, BASE_UUID, "from alpha", 1))
    _write(alpha.projects_dir, copy, base + _turn(BETA_UUID, BASE_UUID, "from beta", 2))
    cluster.wait_in_sync()
    assert (cluster["beta"].projects_dir / copy).exists()
    monkeypatch.setenv("HOME", str(alpha.home))
    result = CliRunner().invoke(
        app, ["--claude-dir", str(alpha.claude_dir), "conflicts", "merge", "--all"]
    )
    assert result.exit_code == 0, result.output
    merged = (alpha.projects_dir / relative).read_bytes()
    for uuid in (BASE_UUID, ALPHA_UUID, BETA_UUID):
        assert uuid.encode() in merged
    cluster.wait_in_sync()
    beta = cluster["beta"]
    wait_until(lambda: _same(cluster, "beta", relative, merged), what="the merge on beta")
    received = (beta.projects_dir / relative).stat().st_ino
    monkeypatch.setenv("HOME", str(beta.home))
    again = CliRunner().invoke(
        app, ["--claude-dir", str(beta.claude_dir), "conflicts", "merge", "--all"]
    )
    assert again.exit_code == 0, again.output
    assert (beta.projects_dir / relative).stat().st_ino == received  # not rewritten
    cluster.wait_in_sync()
    for node in cluster.nodes:
        assert not (node.projects_dir / copy).exists(), node.name
        assert (node.projects_dir / relative).read_bytes() == merged, node.name


def test_cluster_chain_relays_session_through_middle_node(make_cluster: MakeCluster) -> None:
    cluster = make_cluster("chain")
    assert cluster["alpha"].device_id not in cluster["gamma"].client.connections()
    _write(cluster["alpha"].projects_dir, SESSION, _row("relayed"))
    wait_until(lambda: _same(cluster, "gamma", SESSION, _row("relayed")), what="relay to gamma")


def test_cluster_seeds_session_from_spec(pair: Cluster) -> None:
    seeded = next(iter(pair.spec.seeds))
    wait_until(lambda: _same(pair, "beta", seeded.path, seeded.text.encode()), what="seed on beta")


def test_cluster_nodes_listen_only_on_loopback(pair: Cluster) -> None:
    for node in pair.nodes:
        options = node.client.options()
        assert options["listenAddresses"] == [node.listen_address]
        assert options["globalAnnounceEnabled"] is False
        assert options["localAnnounceEnabled"] is False
        assert options["relaysEnabled"] is False
        assert node.api_key not in repr(node)


def _processes_serving(root: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "syncthing" in command and str(root) in command:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_cluster_stops_every_process_even_when_the_test_fails(
    tmp_path: Path, syncthing_bin: str
) -> None:
    seen: list[int] = []

    def failing_test_body() -> None:
        with Cluster(load_spec("pair"), tmp_path, binary=syncthing_bin) as cluster:
            seen.extend(_processes_serving(tmp_path))
            for node in cluster.nodes:  # else 1.29.5's stop waits 10 s: see connections_started
                connections_started(node.client)
            raise RuntimeError("test body failed")

    with pytest.raises(RuntimeError, match="test body failed"):
        failing_test_body()
    assert len(seen) == 4  # a monitor and a node process per node
    assert _processes_serving(tmp_path) == []


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_a_fixture_cluster_leaves_no_process_once_its_block_ends(
    tmp_path: Path, syncthing_bin: str
) -> None:
    with running(load_spec("pair"), tmp_path, syncthing_bin):
        assert len(_processes_serving(tmp_path)) == 4
    assert _processes_serving(tmp_path) == []
