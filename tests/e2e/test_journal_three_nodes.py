"""Three real nodes diverge on one session; whatever Syncthing keeps, the journals put it back.

With three writers apart, Syncthing can drop a whole version: two losing nodes rename their file
to the SAME conflict-copy name, and one copy silently replaces the other (measured in 5 of 7
runs, research/syncthing-loopback.md §5 and §9). ``--force`` or a partition can bring that about,
so every node journals the session lines it wrote outside the synced folder. Here the loss is
real, not staged: whether Syncthing drops a version depends on timing, and the test passes
either way, because after roam runs on each node every node's turn is back in one timeline.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import pytest

from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.core.store import find_session_files
from session_roam.engine.deletions.journal_restore import restore_journal
from session_roam.engine.sessions.journal import Journal
from session_roam.merge import resume_chain
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from tests.support.cluster import MakeCluster

pytestmark = pytest.mark.e2e

PROJECT: Final = "-home-user-proj"
CWD: Final = "/home/user/proj"
#: Apart, each node's write gets its own mtime second, so Syncthing picks winners, not ties.
WRITE_GAP_S: Final = 1.1
#: Resume-all can take ~20 s to reconnect (research §9), then conflicts resolve in a few more.
SETTLE_S: Final = 45.0


@dataclass(frozen=True, slots=True)
class Turn:
    """One user row and the assistant's answer, as Claude Code appends them."""

    user: str
    reply: str
    data: bytes


def _row(session: str, kind: str, uid: str, parent: str | None, text: str) -> bytes:
    content: object = text if kind == "user" else [{"type": "text", "text": text}]
    row = {
        "parentUuid": parent,
        "type": kind,
        "uuid": uid,
        "cwd": CWD,
        "sessionId": session,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "message": {"role": kind, "content": content},
    }
    return (json.dumps(row, separators=(",", ":")) + "\n").encode()


def make_turn(session: str, text: str, parent: str | None) -> Turn:
    user, reply = str(uuid.uuid4()), str(uuid.uuid4())
    data = _row(session, "user", user, parent, text)
    data += _row(session, "assistant", reply, user, f"reply to: {text}")
    return Turn(user, reply, data)


@contextlib.contextmanager
def on_node(node: ClusterNode) -> Iterator[Journal]:
    """roam as run on ``node``: its own HOME and state dir, so no two machines share a journal
    or a backup; yields that node's journal."""
    state = node.home / ".local" / "state"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(node.home))
        patch.setenv("XDG_STATE_HOME", str(state))
        yield Journal(state / "session-roam" / "journal", node=node.name)


def session_path(node: ClusterNode, session: str) -> Path:
    return node.projects_dir / PROJECT / f"{session}.jsonl"


def conflict_copies(node: ClusterNode) -> list[Path]:
    return sorted((node.projects_dir / PROJECT).glob("*.sync-conflict-*"))


def resume_all(cluster: Cluster) -> None:
    """Reconnect every node at once, as after a partition heals (not one by one, research §9).

    A node that dialled a peer still paused was refused and backs off for up to ~20 s, so each
    dialling side is nudged once all are resumed (pause + resume of that peer re-dials at once).
    """
    for node in cluster.nodes:
        node.client.resume()
    for index, dialer in enumerate(cluster.nodes):
        for peer in cluster.nodes[index + 1 :]:
            dialer.client.pause(peer.device_id)
            dialer.client.resume(peer.device_id)
    cluster.wait_connected()


def snapshot(cluster: Cluster, node: ClusterNode) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in cluster.files(node.name):
        with contextlib.suppress(FileNotFoundError):  # Syncthing may be replacing it
            files[str(path.relative_to(node.projects_dir))] = path.read_bytes()
    return files


def all_alike(cluster: Cluster) -> bool:
    first, *others = (snapshot(cluster, node) for node in cluster.nodes)
    return all(other == first for other in others)


def settle(cluster: Cluster) -> None:
    """Syncthing has finished: every node in sync and holding the very same files."""
    cluster.wait_in_sync(timeout_s=SETTLE_S)
    wait_until(lambda: all_alike(cluster), timeout_s=SETTLE_S, what="the same files on all nodes")


def same_session(cluster: Cluster, session: str) -> bool:
    try:
        return len({session_path(node, session).read_bytes() for node in cluster.nodes}) == 1
    except FileNotFoundError:  # a receiver replaces the file: the path briefly disappears
        return False


def holders(cluster: Cluster, uid: str) -> list[str]:
    """Every ``node:file`` that still holds the row ``uid`` (main file or conflict copy)."""
    found = []
    for node in cluster.nodes:
        for relative, data in snapshot(cluster, node).items():
            if uid.encode() in data:
                found.append(f"{node.name}:{relative}")
    return found


def test_journal_restores_every_nodes_turn_after_three_way_divergence(
    make_cluster: MakeCluster,
) -> None:
    started = time.monotonic()
    cluster = make_cluster("trio")
    session = str(uuid.uuid4())
    base = make_turn(session, "base", None)
    origin = session_path(cluster["alpha"], session)
    origin.parent.mkdir(parents=True, exist_ok=True)
    origin.write_bytes(base.data)
    cluster.wait_in_sync()
    for node in cluster.nodes:
        with on_node(node) as journal:
            journal.record(session_path(node, session), "launch")

    for node in cluster.nodes:
        cluster.pause(node.name)
    turns: dict[str, Turn] = {}
    for node in cluster.nodes:
        turn = make_turn(session, f"turn on {node.name}", base.reply)
        path = session_path(node, session)
        with path.open("ab") as handle:
            handle.write(turn.data)
        node.client.scan(cluster.spec.folder_id, f"{PROJECT}/{path.name}")
        with on_node(node) as journal:
            assert journal.record(path, "release").appended == 2
        turns[node.name] = turn
        time.sleep(WRITE_GAP_S)
    resume_all(cluster)
    settle(cluster)

    lost = sorted(name for name, turn in turns.items() if not holders(cluster, turn.user))
    verdict = f"yes, {' and '.join(lost)}'s turn is on no node" if lost else "no"
    print(
        f"\nconflict copies after Syncthing settled: {len(conflict_copies(cluster['alpha']))}; "
        f"Syncthing lost a version: {verdict}"
    )

    for node in cluster.nodes:  # roam runs on each node in turn
        path = session_path(node, session)
        with on_node(node) as journal:
            restore_journal(journal, session, session_path=path, is_locked=lambda _sid: False)
            pending = find_session_files(path.parent, session)
            if pending.has_conflicts:
                merge_session(pending, is_locked=lambda _sid: False)
        # the next node keeps the copies this one merged (peers ignore deletions): it merges
        # them again, so only the session file has to match before it runs
        cluster.wait_in_sync(timeout_s=SETTLE_S)
        wait_until(lambda: same_session(cluster, session), timeout_s=SETTLE_S, what="one file")
    settle(cluster)

    final = session_path(cluster["alpha"], session).read_bytes()
    expected = [base.user, base.reply]
    for turn in turns.values():
        expected += [turn.user, turn.reply]
    chain = resume_chain(final)
    for node in cluster.nodes:
        path = session_path(node, session)
        assert path.read_bytes() == final, node.name
        assert conflict_copies(node) == [], node.name
        with on_node(node) as journal:
            assert journal.missing_records(path) == [], node.name
    assert chain[:2] == [base.user, base.reply]
    counts = Counter(chain)
    assert {uid: counts[uid] for uid in expected} == dict.fromkeys(expected, 1)
    print(f"every turn back in one timeline {time.monotonic() - started:.1f} s after the start")
