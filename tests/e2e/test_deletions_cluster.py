"""Issue 13's loss paths on a real two-node loopback cluster: no deletion on one machine takes a
session from the other, and the machine that lost sessions gets them back.

Each test builds its own pair (``make_cluster``: the same folder settings ``roam setup`` gives,
``ignoreDelete`` included) because each one breaks something. Claude Code's 30-day clean-up is
simulated exactly as ``src/utils/cleanup.ts`` does it (unlink every transcript whose mtime is
older than the cut-off): the pinned 2.1.331 client does not run its clean-up in ``-p`` mode
(measured: a 60-day-old session survived a ``claude -p`` turn), and its interactive mode needs a
terminal. The heal pass that ``roam watch`` runs every minute is called directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.deletions.restore import heal
from session_roam.engine.deletions.tombstones import TOMBSTONES_DIR
from session_roam.engine.syncthing.folder import DEFAULT_FOLDER_ID
from tests.support.cluster import reconnect, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from tests.support.cluster import MakeCluster

pytestmark = pytest.mark.e2e

PROJECT: Final = "-home-user-proj"
SESSIONS: Final = 6
DAY_S: Final = 86400
#: Claude Code's default cleanupPeriodDays.
CUTOFF_DAYS: Final = 30


def write_sessions(node: ClusterNode, count: int, *, age_days: float = 0) -> dict[str, bytes]:
    """``count`` sessions (with a companion each) on ``node``, mtimes ``age_days`` in the past."""
    written: dict[str, bytes] = {}
    stamp = time.time() - age_days * DAY_S
    for _ in range(count):
        session = str(uuid.uuid4())
        row = {
            "type": "user",
            "uuid": str(uuid.uuid4()),
            "parentUuid": None,
            "sessionId": session,
            "cwd": "/home/user/proj",
            "timestamp": "2026-10-01T12:00:00.000Z",
            "message": {"role": "user", "content": f"turn of {session}"},
        }
        files = {
            f"{PROJECT}/{session}.jsonl": (json.dumps(row) + "\n").encode(),
            f"{PROJECT}/{session}/tool-results/r1.txt": b"tool output\n",
        }
        for relpath, data in files.items():
            path = node.projects_dir / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            os.utime(path, (stamp, stamp))
        written.update(files)
    return written


def holds(node: ClusterNode, files: dict[str, bytes]) -> bool:
    """Every file byte for byte at its path."""
    for relpath, data in files.items():
        try:
            if (node.projects_dir / relpath).read_bytes() != data:
                return False
        except OSError:
            return False
    return True


def claude_cleanup(node: ClusterNode, days: int = CUTOFF_DAYS) -> int:
    """What cleanup.ts does at start-up: unlink transcripts with ``mtime < now - days``."""
    cutoff = time.time() - days * DAY_S
    removed = 0
    for path in node.projects_dir.glob("*/*.jsonl"):
        if path.stat().st_mtime < cutoff:
            path.unlink()
            removed += 1
    return removed


def settle(node: ClusterNode) -> None:
    """Let ``node`` announce what changed on its disk (the watcher would, ~1 s later)."""
    node.client.scan(DEFAULT_FOLDER_ID)
    time.sleep(1.5)


def deleted_in_cluster(node: ClusterNode, relpath: str) -> bool:
    """Whether the folder's global state (as ``node`` knows it) calls the file deleted."""
    info = node.client.file_info(DEFAULT_FOLDER_ID, relpath)
    return info is None or bool((info.raw.get("global") or {}).get("deleted"))


@contextlib.contextmanager
def as_node(node: ClusterNode) -> Iterator[None]:
    """Run engine code as ``node``'s roam: its home, its state folder (archive, backups)."""
    saved = {k: os.environ.get(k) for k in ("HOME", "XDG_STATE_HOME", "CLAUDE_CONFIG_DIR")}
    os.environ.update(
        HOME=str(node.home),
        XDG_STATE_HOME=str(node.home / ".local" / "state"),
        CLAUDE_CONFIG_DIR=str(node.claude_dir),
    )
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def heal_on(node: ClusterNode) -> tuple[str, ...]:
    """One pass of what ``roam watch`` runs every minute on ``node``."""
    with as_node(node):
        return heal(node.projects_dir, node.client, DEFAULT_FOLDER_ID).reannounced


def roam(node: ClusterNode, *args: str) -> Any:
    env = {
        "HOME": str(node.home),
        "XDG_STATE_HOME": str(node.home / ".local" / "state"),
        "CLAUDE_CONFIG_DIR": str(node.claude_dir),
        "ROAM_SYNCTHING_HOME": str(node.syncthing_home),
        "ROAM_NO_SYSTEMD": "1",
    }
    return CliRunner().invoke(app, list(args), env=env)


def synced_pair(
    make_cluster: MakeCluster, *, age_days: float = 0
) -> tuple[Cluster, dict[str, bytes]]:
    cluster = make_cluster("pair")
    files = write_sessions(cluster["alpha"], SESSIONS, age_days=age_days)
    cluster.wait_in_sync()
    wait_until(lambda: holds(cluster["beta"], files), what="beta to hold alpha's sessions")
    for node in cluster.nodes:
        heal_on(node)  # the archive as roam watch / roam cr keep it
    return cluster, files


def test_claude_cleanup_on_a_joined_machine_leaves_every_session_on_the_other(
    make_cluster: MakeCluster,
) -> None:
    cluster, files = synced_pair(make_cluster, age_days=60)
    alpha, beta = cluster["alpha"], cluster["beta"]
    assert claude_cleanup(beta) == SESSIONS
    settle(beta)
    assert holds(alpha, files)


def test_claude_cleanup_is_given_back_to_the_machine_that_ran_it(
    make_cluster: MakeCluster,
) -> None:
    cluster, files = synced_pair(make_cluster, age_days=60)
    alpha, beta = cluster["alpha"], cluster["beta"]
    claude_cleanup(beta)
    settle(beta)
    started = time.monotonic()
    assert len(heal_on(alpha)) == SESSIONS
    wait_until(lambda: holds(beta, files), what="beta to get its sessions back")
    print(f"\nalpha gave beta {SESSIONS} sessions back in {time.monotonic() - started:.2f} s")
    assert holds(alpha, files)


def test_rm_rf_of_a_project_folder_leaves_the_peer_whole(make_cluster: MakeCluster) -> None:
    cluster, files = synced_pair(make_cluster)
    shutil.rmtree(cluster["alpha"].projects_dir / PROJECT)
    settle(cluster["alpha"])
    assert holds(cluster["beta"], files)


def test_restore_brings_back_a_wiped_project_on_the_machine_that_lost_it(
    make_cluster: MakeCluster,
) -> None:
    cluster, files = synced_pair(make_cluster)
    alpha, beta = cluster["alpha"], cluster["beta"]
    shutil.rmtree(alpha.projects_dir / PROJECT)
    settle(alpha)
    result = roam(alpha, "restore", "--all", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["restored"]) == len(files)
    print(f"\nroam restore --all: {len(files)} files in {doc['seconds']:.3f} s")
    assert holds(alpha, files)
    settle(alpha)
    assert holds(beta, files)


def test_restore_lists_sessions_a_peer_kept_and_the_peer_gives_them_back(
    make_cluster: MakeCluster,
) -> None:
    cluster = make_cluster("pair")
    alpha, beta = cluster["alpha"], cluster["beta"]
    files = write_sessions(alpha, SESSIONS)
    cluster.wait_in_sync()
    wait_until(lambda: holds(beta, files), what="beta to hold alpha's sessions")
    shutil.rmtree(alpha.projects_dir / PROJECT)  # before alpha's roam ever archived them
    settle(alpha)
    listed = json.loads(roam(alpha, "restore", "--json").stdout)["lost"]
    assert {item["source"] for item in listed} == {"peer beta"}
    assert sorted(rel for item in listed for rel in item["files"]) == sorted(files)
    heal_on(beta)
    wait_until(lambda: holds(alpha, files), what="beta to give alpha its sessions back")


def test_restore_works_from_the_archive_while_the_peer_is_off(make_cluster: MakeCluster) -> None:
    cluster, files = synced_pair(make_cluster)
    alpha, beta = cluster["alpha"], cluster["beta"]
    assert beta.process is not None
    beta.process.stop()
    shutil.rmtree(alpha.projects_dir / PROJECT)
    settle(alpha)
    result = roam(alpha, "restore", "--all")
    assert result.exit_code == 0, result.output
    assert holds(alpha, files)
    beta.process.start()
    reconnect(cluster)
    cluster.wait_in_sync()
    assert holds(beta, files)
    assert holds(alpha, files)


def test_a_deletion_made_while_the_peer_is_off_leaves_the_peer_whole(
    make_cluster: MakeCluster,
) -> None:
    cluster, files = synced_pair(make_cluster, age_days=60)
    alpha, beta = cluster["alpha"], cluster["beta"]
    assert beta.process is not None
    beta.process.stop()
    claude_cleanup(alpha)
    settle(alpha)
    beta.process.start()
    reconnect(cluster)
    time.sleep(3)  # alpha's deletions reach beta, which ignores them
    assert holds(beta, files)
    heal_on(beta)
    wait_until(lambda: holds(alpha, files), what="alpha to get its sessions back")


def test_setup_after_the_projects_folder_vanished_brings_it_back_and_deletes_nothing(
    make_cluster: MakeCluster,
) -> None:
    cluster, files = synced_pair(make_cluster)
    alpha, beta = cluster["alpha"], cluster["beta"]
    shutil.rmtree(alpha.projects_dir)
    time.sleep(2)  # Syncthing notices and stops the folder ("folder path missing")
    result = roam(alpha, "setup", "--json")
    assert result.exit_code == 0, result.output
    assert holds(alpha, files)
    assert alpha.client.folder(DEFAULT_FOLDER_ID).raw["type"] == "sendreceive"
    settle(alpha)
    assert holds(beta, files)
    assert not any(deleted_in_cluster(beta, rel) for rel in files)


def test_verify_fails_while_the_projects_folder_is_missing(make_cluster: MakeCluster) -> None:
    cluster, _files = synced_pair(make_cluster)
    alpha = cluster["alpha"]
    shutil.rmtree(alpha.projects_dir)
    time.sleep(2)
    result = roam(alpha, "verify", "--json", "--shell", "bash")
    doc = json.loads(result.stdout)
    assert doc["dimensions"]["folder"] == "fail"
    assert any(
        f["dimension"] == "folder" and (f["fix"] or "").startswith("roam setup")
        for f in doc["findings"]
    )


def test_rm_removes_a_session_on_both_machines_and_it_sticks(make_cluster: MakeCluster) -> None:
    cluster, files = synced_pair(make_cluster)
    alpha, beta = cluster["alpha"], cluster["beta"]
    transcript = next(rel for rel in files if rel.endswith(".jsonl"))
    session = Path(transcript).stem
    gone = {rel: data for rel, data in files.items() if session in rel}
    kept = {rel: data for rel, data in files.items() if session not in rel}
    result = roam(alpha, "rm", session, "--yes")
    assert result.exit_code == 0, result.output
    settle(alpha)
    stone = beta.projects_dir / TOMBSTONES_DIR / f"{session}.json"
    wait_until(stone.is_file, what="the tombstone on beta")
    heal_on(beta)
    settle(beta)
    for node in (alpha, beta):
        assert heal_on(node) == ()
    time.sleep(1.5)
    for node in (alpha, beta):
        assert not any((node.projects_dir / rel).exists() for rel in gone)
        assert holds(node, kept)
    assert json.loads(roam(beta, "restore", "--json").stdout)["lost"] == []


def test_verify_fix_puts_the_policy_in_force_on_a_node_set_up_before_it(
    make_cluster: MakeCluster,
) -> None:
    cluster, files = synced_pair(make_cluster)
    alpha, beta = cluster["alpha"], cluster["beta"]
    alpha.client.patch_folder(DEFAULT_FOLDER_ID, {"ignoreDelete": False})  # an older roam's node
    before = json.loads(roam(alpha, "verify", "--json", "--shell", "bash").stdout)
    assert before["dimensions"]["deletions"] == "fail"
    fixed = json.loads(roam(alpha, "verify", "--fix", "--json", "--shell", "bash").stdout)
    assert fixed["dimensions"]["deletions"] != "fail", fixed["findings"]
    assert alpha.client.folder(DEFAULT_FOLDER_ID).raw["ignoreDelete"] is True
    shutil.rmtree(beta.projects_dir / PROJECT)
    settle(beta)
    assert holds(alpha, files)


def test_setup_migrates_a_node_set_up_before_the_policy(make_cluster: MakeCluster) -> None:
    cluster, _files = synced_pair(make_cluster)
    alpha = cluster["alpha"]
    alpha.client.patch_folder(DEFAULT_FOLDER_ID, {"ignoreDelete": False})
    result = roam(alpha, "setup", "--json")
    assert result.exit_code == 0, result.output
    assert alpha.client.folder(DEFAULT_FOLDER_ID).raw["ignoreDelete"] is True
    settings = json.loads((alpha.claude_dir / "settings.json").read_text())
    assert settings["cleanupPeriodDays"] == 99999
