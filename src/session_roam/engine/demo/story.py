"""`roam demo`: the whole story on a throwaway cluster of real Syncthing nodes on 127.0.0.1.

It starts three nodes (generated configs hardened for loopback before the first start: no
discovery, relays, NAT, upgrades or usage reporting), writes a realistic Claude Code session on
one, measures it arriving on the others, makes two machines continue the session while apart
so that Syncthing leaves a conflict copy, merges it back into one timeline, and hands the
session from one machine to another under the lease. Everything runs in a temporary folder and
every process is stopped on the way out, whatever happens.

The steps are a generator of ``DemoEvent`` so the CLI can show progress and this module stays
free of presentation.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.core.paths import project_slug
from session_roam.engine.core.store import find_session_files
from session_roam.engine.demo.session import SessionWriter
from session_roam.engine.lease import api as lease
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.syncthing.cluster import Cluster, ClusterNode, ClusterSpec, NodeSpec
from session_roam.errors import LeaseHeld, MergeError, SyncTimeout
from session_roam.merge import resume_chain

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from session_roam.engine.lease.engine import LeaseEngine

__all__ = ["DemoEvent", "DemoSummary", "run_demo"]

_SESSION_ID: Final = "6f1c2a3e-8b4d-4e5f-9a7b-1c2d3e4f5a6b"
_CWD: Final = "/home/you/projects/notes"
_NODES: Final = ("alpha", "beta", "gamma")
_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """``start`` announces a step; ``done`` reports what it showed and how long it took."""

    kind: Literal["start", "done"]
    title: str
    detail: str = ""
    seconds: float = 0.0


@dataclass(slots=True)
class DemoSummary:
    """The figures the demo measured, for ``--json`` and for the closing table."""

    figures: dict[str, Any] = field(default_factory=dict)


def _relative_session_path() -> str:
    return f"{project_slug(_CWD)}/{_SESSION_ID}.jsonl"


def _append(node: ClusterNode, lines: list[bytes]) -> Path:
    path = node.projects_dir / _relative_session_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        handle.write(b"".join(lines))
    return path


def _wait_until(check: Callable[[], bool], what: str, timeout_s: float = _TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.005)
    raise SyncTimeout(f"The demo cluster did not {what} within {timeout_s:g} s.")


def _same_bytes(node: ClusterNode, data: bytes) -> bool:
    try:
        return (node.projects_dir / _relative_session_path()).read_bytes() == data
    except FileNotFoundError:  # a receiver replaces files by delete + rename
        return False


def _peers_known(writer: ClusterNode, folder: str, peers: set[str]) -> bool:
    """Whether ``writer``'s Syncthing lists every peer as holding its version of the session."""
    info = writer.client.file_info(folder, _relative_session_path())
    return info is not None and peers <= set(info.availability)


def _publish(cluster: Cluster, writer: ClusterNode, lines: list[bytes]) -> tuple[float, float]:
    """Append ``lines`` on ``writer``, scan, and time (a) peers having the bytes, (b) writer
    knowing that they have them.

    "Knowing" is read from Syncthing's own state (``/rest/db/file``'s availability), never
    inferred from one event: the folder's watcher can scan the write before our scan, and a
    peer's index update that arrives before a wait starts is never reported again (that race
    failed one demo in seven). Events only wake the check up early.
    """
    folder = cluster.spec.folder_id
    peers = [n for n in cluster.nodes if n is not writer]
    subscription = writer.client.subscribe(["RemoteIndexUpdated"])  # before writing
    data = _append(writer, lines).read_bytes()
    started = time.monotonic()
    writer.client.scan(folder, _relative_session_path())
    wanted = {p.device_id for p in peers}
    deadline = started + _TIMEOUT_S
    while not _peers_known(writer, folder, wanted):
        if time.monotonic() > deadline:
            raise SyncTimeout(
                f"The demo's machines did not all receive the session within {_TIMEOUT_S:g} s."
            )
        subscription.poll(timeout_s=1.0)
    known_at = time.monotonic()
    for peer in peers:
        _wait_until(functools.partial(_same_bytes, peer, data), f"deliver it to {peer.name}")
    arrived_at = time.monotonic()
    return arrived_at - started, known_at - started


def _prompts_resumed(data: bytes) -> list[str]:
    """The user prompts on the chain Claude Code would resume from these bytes."""
    by_uuid: dict[str, dict[str, Any]] = {}
    for raw in data.splitlines():
        with contextlib.suppress(ValueError):
            row = json.loads(raw)
            if isinstance(row, dict) and isinstance(row.get("uuid"), str):
                by_uuid[row["uuid"]] = row
    prompts = []
    for uuid in resume_chain(data):
        content = by_uuid.get(uuid, {}).get("message", {}).get("content")
        if by_uuid.get(uuid, {}).get("type") == "user" and isinstance(content, str):
            prompts.append(content)
    return prompts


@contextlib.contextmanager
def _as_machine(node: ClusterNode) -> Iterator[None]:
    """Run roam code as if on ``node``: its HOME and XDG folders, never the user's own."""
    names = ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(
        HOME=str(node.home),
        XDG_STATE_HOME=str(node.home / ".local" / "state"),
        XDG_CONFIG_HOME=str(node.home / ".config"),
        XDG_CACHE_HOME=str(node.home / ".cache"),
    )
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _steps(cluster: Cluster, summary: DemoSummary) -> Generator[DemoEvent, None, SessionWriter]:
    alpha, beta, gamma = (cluster[name] for name in _NODES)
    session = SessionWriter(_SESSION_ID, _CWD, seed=1)

    title = "A Claude Code session is written on alpha; it reaches beta and gamma"
    yield DemoEvent("start", title)
    first = session.turn("Sketch a plan for the notes app.", "Here is a plan.")
    first += session.turn("Check the tests pass.", "All green.", command="echo 12 passed")
    arrived, known = _publish(cluster, alpha, first)
    path = alpha.projects_dir / _relative_session_path()
    summary.figures |= {"first_sync_s": round(arrived, 4), "first_ack_s": round(known, 4)}
    yield DemoEvent(
        "done",
        title,
        f"bytes on both peers {arrived * 1000:.0f} ms after the scan; "
        f"alpha knew {known * 1000:.0f} ms after",
        arrived,
    )

    title = "A new turn on alpha is on beta before you have walked over"
    yield DemoEvent("start", title)
    arrived, known = _publish(
        cluster, alpha, session.turn("Add a search box.", "Added, with a test.")
    )
    summary.figures |= {"turn_sync_s": round(arrived, 4), "turn_ack_s": round(known, 4)}
    yield DemoEvent(
        "done", title, f"{arrived * 1000:.0f} ms from scan to bytes on every peer", arrived
    )

    title = "alpha and beta both continue the session while cut off from each other"
    yield DemoEvent("start", title)
    started = time.monotonic()
    cluster.pause("beta")
    elsewhere = session.fork(seed=2)
    _append(alpha, session.turn("Write the release notes.", "Release notes drafted."))
    alpha.client.scan(cluster.spec.folder_id, _relative_session_path())
    time.sleep(1.1)  # so beta's version is newer by mtime and wins, as it would in real life
    elsewhere.clock = session.clock + timedelta(seconds=1.1)
    _append(beta, elsewhere.turn("Fix the flaky test.", "Fixed.", command="echo 13 passed"))
    beta.client.scan(cluster.spec.folder_id, _relative_session_path())
    cluster.resume("beta")
    _wait_until(
        lambda: (
            find_session_files(alpha.projects_dir / project_slug(_CWD), _SESSION_ID).has_conflicts
        ),
        "produce a conflict copy on alpha",
    )
    cluster.wait_in_sync()
    copy = find_session_files(alpha.projects_dir / project_slug(_CWD), _SESSION_ID)
    names = ", ".join(c.path.name for c in copy.conflict_copies)
    naive = _prompts_resumed(path.read_bytes())
    summary.figures["resumed_without_merge"] = naive
    yield DemoEvent(
        "done",
        title,
        f"Syncthing kept one version and made {names}; resuming now would "
        f"miss {'the release notes' if 'Write the release notes.' not in naive else 'a turn'}",
        time.monotonic() - started,
    )

    title = "roam merges the conflict copy back into one timeline"
    yield DemoEvent("start", title)
    started = time.monotonic()
    with _as_machine(alpha):
        result = merge_session(copy)
    cluster.wait_in_sync()
    merged = path.read_bytes()
    for node in (beta, gamma):
        _wait_until(functools.partial(_same_bytes, node, merged), f"deliver it to {node.name}")
        # peers ignore deletions (docs/design/deletions.md): each one's roam watch merges its
        # copy again, which finds every record in the file already and only removes the copy
        theirs = find_session_files(node.projects_dir / project_slug(_CWD), _SESSION_ID)
        if theirs.has_conflicts:
            with _as_machine(node):
                merge_session(theirs)
    prompts = _prompts_resumed(merged)
    if not {"Write the release notes.", "Fix the flaky test."} <= set(prompts):
        raise MergeError("The demo's merged session does not resume both machines' turns.")
    leftovers = [
        n.name
        for n in cluster.nodes
        if find_session_files(n.projects_dir / project_slug(_CWD), _SESSION_ID).has_conflicts
    ]
    if leftovers:
        raise MergeError(f"Conflict copies are still on {', '.join(leftovers)} after the merge.")
    summary.figures |= {"merged_prompts": prompts, "backup": str(result.backup)}
    session.leaf = resume_chain(merged)[-1]
    yield DemoEvent(
        "done",
        title,
        f"{len(prompts)} prompts on the resumed chain, both machines' turns "
        f"included; alpha kept the originals in its backup store (see them with --keep)",
        time.monotonic() - started,
    )
    return session


def _lease_engine(cluster: Cluster, node: ClusterNode) -> LeaseEngine:
    with _as_machine(node):
        transport = SyncthingTransport(node.client, node.projects_dir, cluster.spec.folder_id)
        return lease.engine_for(transport)


def _handoff(cluster: Cluster, session: SessionWriter, summary: DemoSummary) -> Iterator[DemoEvent]:
    alpha, beta = cluster["alpha"], cluster["beta"]
    on_alpha, on_beta = _lease_engine(cluster, alpha), _lease_engine(cluster, beta)
    path = alpha.projects_dir / _relative_session_path()

    title = "alpha takes the session's lease; beta is refused while alpha writes"
    yield DemoEvent("start", title)
    started = time.monotonic()
    held = lease.acquire(_SESSION_ID, engine=on_alpha, session_file=path)
    acquired_s = time.monotonic() - started
    try:
        lease.acquire(_SESSION_ID, engine=on_beta, timeout_s=_TIMEOUT_S)
    except LeaseHeld as refusal:
        refused = refusal.message
    else:
        raise MergeError("The demo's lease was granted to two nodes at once.")
    summary.figures |= {"lease_acquire_s": round(acquired_s, 3), "lease_refusal": refused}
    yield DemoEvent(
        "done",
        title,
        f"lease in {acquired_s * 1000:.0f} ms; beta: {refused}",
        time.monotonic() - started,
    )

    title = "alpha ends its turn and releases; beta resumes on exactly alpha's bytes"
    yield DemoEvent("start", title)
    _append(alpha, session.turn("Ship it.", "Tagged v1.0."))
    final = path.read_bytes()
    started = time.monotonic()
    held.release()
    taken = lease.acquire(
        _SESSION_ID, engine=on_beta, session_file=beta.projects_dir / _relative_session_path()
    )
    handoff_s = time.monotonic() - started
    if not _same_bytes(beta, final):
        raise SyncTimeout("beta took the lease before alpha's last turn had arrived.")
    taken.release()
    summary.figures["handoff_s"] = round(handoff_s, 3)
    yield DemoEvent(
        "done",
        title,
        f"{handoff_s * 1000:.0f} ms from alpha's release to beta holding the "
        "lease with alpha's last turn (the bash seed slept a fixed 2 s and hoped)",
        handoff_s,
    )


def run_demo(
    *, keep: bool = False, summary: DemoSummary | None = None
) -> Generator[DemoEvent, None, None]:
    """Run the demo step by step; the cluster is stopped and its folder removed at the end."""
    summary = summary if summary is not None else DemoSummary()
    root = Path(tempfile.mkdtemp(prefix="roam-demo-"))
    spec = ClusterSpec(name="demo", nodes=tuple(NodeSpec(n) for n in _NODES))
    try:
        title = "Start three Syncthing nodes on 127.0.0.1 (no discovery, relays or NAT)"
        yield DemoEvent("start", title)
        started = time.monotonic()
        with Cluster(spec, root) as cluster:
            summary.figures["cluster_start_s"] = round(time.monotonic() - started, 3)
            yield DemoEvent(
                "done",
                title,
                ", ".join(f"{n.name} {n.device_id[:7]}" for n in cluster.nodes),
                time.monotonic() - started,
            )
            session = yield from _steps(cluster, summary)
            yield from _handoff(cluster, session, summary)
            title = "Stop every node"
            yield DemoEvent("start", title)
            started = time.monotonic()
        yield DemoEvent("done", title, "nothing left running", time.monotonic() - started)
    finally:
        if keep:
            summary.figures["kept"] = str(root)
        else:
            shutil.rmtree(root, ignore_errors=True)
