"""`roam watch` on a real two-node loopback cluster: conflicts made by two nodes merged on
their own within seconds, and left alone while a live lease holds the session.

The conflict is real: both nodes append to the same session while cut off from each other,
then reconnect, and Syncthing itself makes the ``.sync-conflict-`` copy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import TYPE_CHECKING, Final

import pytest

from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.conflicts.watch import Watcher, WatchEvent
from session_roam.engine.core.store import find_session_files
from session_roam.engine.lease import api as lease
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec, NodeSpec
from session_roam.engine.syncthing.config import read_config
from tests.support.cluster import running, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.lease.engine import LeaseEngine
    from session_roam.engine.syncthing.cluster import ClusterNode

pytestmark = [
    pytest.mark.e2e,
    # watchdog warns (from its inotify thread) when a folder is created and removed between two
    # of its own steps, as lease folders are; the watcher's rescan covers what it then misses.
    pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning"),
]

SPEC: Final = ClusterSpec(name="watch", nodes=(NodeSpec("alpha"), NodeSpec("beta")))
PROJECT: Final = "-watch-proj"
#: "Within seconds": reconnect (~1-2 s) + Syncthing's conflict + debounce (0.5 s) + merge.
MERGE_WITHIN_S: Final = 15.0


def row(session: str, text: str, parent: str | None) -> tuple[str, str]:
    uid = str(uuid.uuid4())
    line = {
        "type": "user",
        "uuid": uid,
        "parentUuid": parent,
        "sessionId": session,
        "cwd": "/tmp/watch-proj",
        "timestamp": "2026-11-25T12:00:00.000Z",
        "message": {"role": "user", "content": text},
    }
    return uid, json.dumps(line) + "\n"


class Running:
    """A Watcher on one node in a thread, recording what it did and when."""

    def __init__(self, node: ClusterNode) -> None:
        config = read_config(node.syncthing_home)
        self.client = SyncthingClient(config.base_url, config.api_key)
        self.engine = lease.engine_for(
            SyncthingTransport(self.client, node.projects_dir, SPEC.folder_id)
        )
        self.events: list[tuple[float, WatchEvent]] = []
        self.watcher = Watcher(
            node.projects_dir,
            is_live=lambda s: lease.is_live(s, engine=self.engine),
            debounce_s=0.5,
            retry_s=0.5,
            rescan_s=2.0,
            on_event=lambda e: self.events.append((time.monotonic(), e)),
        )
        self.thread = threading.Thread(target=self.watcher.run, daemon=True)

    def actions(self) -> list[str]:
        return [e.action for _, e in self.events]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, syncthing_bin: str) -> Iterator[Cluster]:
    with running(SPEC, tmp_path_factory.mktemp("watch"), syncthing_bin) as started:
        yield started


@pytest.fixture
def watching(cluster: Cluster) -> Iterator[Running]:
    run = Running(cluster["alpha"])
    run.thread.start()
    try:
        yield run
    finally:
        run.watcher.stop()
        run.thread.join(timeout=10)
        run.client.close()


def shared_session(cluster: Cluster) -> tuple[str, str]:
    """A session on both nodes; returns its id and its last row's uuid."""
    session = str(uuid.uuid4())
    uid, line = row(session, "base", None)
    path = cluster["alpha"].projects_dir / PROJECT / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(line)
    cluster.wait_in_sync()
    return session, uid


def fork(cluster: Cluster, session: str, parent: str) -> float:
    """Both nodes append while apart, then reconnect; returns when they reconnected."""
    cluster.pause("beta")
    for name in ("alpha", "beta"):
        _, line = row(session, f"turn on {name}", parent)
        with (cluster[name].projects_dir / PROJECT / f"{session}.jsonl").open("a") as handle:
            handle.write(line)
        time.sleep(1.1)  # distinct mtimes: the conflict winner is decided, not tied
    for name in ("alpha", "beta"):
        cluster[name].client.scan(SPEC.folder_id)
    cluster.resume("beta")
    return time.monotonic()


def copies(node: ClusterNode) -> list[Path]:
    return sorted((node.projects_dir / PROJECT).glob("*.sync-conflict-*"))


def has_both_turns(node: ClusterNode, session: str) -> bool:
    try:
        text = (node.projects_dir / PROJECT / f"{session}.jsonl").read_text()
    except FileNotFoundError:  # a receiver replaces the file: the path briefly disappears
        return False
    return "turn on alpha" in text and "turn on beta" in text


def merged(node: ClusterNode, session: str) -> bool:
    text = (node.projects_dir / PROJECT / f"{session}.jsonl").read_text()
    return not copies(node) and "turn on alpha" in text and "turn on beta" in text


def test_watch_merges_conflict_made_by_two_nodes(cluster: Cluster, watching: Running) -> None:
    alpha = cluster["alpha"]
    session, parent = shared_session(cluster)
    reconnected = fork(cluster, session, parent)
    # the file can be merged a moment before the watcher records its event: wait for both
    wait_until(
        lambda: merged(alpha, session) and "merged" in watching.actions(),
        timeout_s=MERGE_WITHIN_S,
        what="the merge",
    )
    took = next(t for t, e in watching.events if e.action == "merged") - reconnected
    print(f"\nwatch merged a two-node conflict {took:.2f} s after the nodes reconnected")
    assert "waiting" not in watching.actions()
    cluster.wait_in_sync()
    beta = cluster["beta"]
    # beta ignores alpha's deletion of the copy (docs/design/deletions.md): its own roam watch
    # merges its copy again, which only removes it, the records being in the file already
    wait_until(lambda: has_both_turns(beta, session), what="alpha's merge on beta")
    merge_session(find_session_files(beta.projects_dir / PROJECT, session))
    assert merged(beta, session)


def test_watch_waits_for_live_lease_then_merges(cluster: Cluster, watching: Running) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    session, parent = shared_session(cluster)
    beta_engine: LeaseEngine = lease.engine_for(
        SyncthingTransport(beta.client, beta.projects_dir, SPEC.folder_id)
    )
    held = lease.acquire(session, engine=beta_engine, ttl_s=60, timeout_s=20)
    try:
        wait_until(lambda: lease.is_live(session, engine=watching.engine), what="beta's claim")
        fork(cluster, session, parent)
        wait_until(lambda: bool(copies(alpha)), timeout_s=MERGE_WITHIN_S, what="a conflict copy")
        wait_until(lambda: "waiting" in watching.actions(), what="the watcher to see the lease")
        time.sleep(2)
        assert copies(alpha), "merged under a live lease"
        assert "merged" not in watching.actions()
    finally:
        held.release(stamp=False)
        released = time.monotonic()
    # the file can be merged a moment before the watcher records its event: wait for both
    wait_until(
        lambda: merged(alpha, session) and "merged" in watching.actions(),
        timeout_s=MERGE_WITHIN_S,
        what="the merge",
    )
    took = next(t for t, e in watching.events if e.action == "merged") - released
    print(f"\nwatch merged {took:.2f} s after the lease was released")


def test_watch_command_merges_and_stops_on_sigterm(cluster: Cluster, tmp_path: Path) -> None:
    alpha = cluster["alpha"]
    session, parent = shared_session(cluster)
    log = tmp_path / "watch.log"
    env = {
        **os.environ,
        "HOME": str(alpha.home),
        "CLAUDE_CONFIG_DIR": str(alpha.claude_dir),
        "ROAM_SYNCTHING_HOME": str(alpha.syncthing_home),
    }
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "session_roam", "watch", "--debounce", "0.5"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: "Watching" in log.read_text(), what="roam watch to start")
            fork(cluster, session, parent)
            wait_until(lambda: merged(alpha, session), timeout_s=MERGE_WITHIN_S, what="the merge")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert f"merged: {session}" in log.read_text()
