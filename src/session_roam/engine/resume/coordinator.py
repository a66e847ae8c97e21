"""The ``Coordinator`` that ``roam cr`` uses: the lease, the wait for sync, and the cluster's view.

``engine.resume`` runs the order (check, lease, wait, merge, run claude, release) against a
``Coordinator``; this is the real one, on top of the lease (``lease.api``) and this machine's
Syncthing REST API. ``resume.coordinate`` builds it for a launch.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.conflicts.forks import mark_fork_point, needs_repair
from session_roam.engine.core import xdg
from session_roam.engine.core.store import SessionFiles, find_session_files, read_settled
from session_roam.engine.lease import api as lease_api
from session_roam.engine.lease.prompt_guard import Armed, arm
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.resume.choose import what_is_here
from session_roam.errors import (
    HeldElsewhere,
    HolderOffline,
    LeaseHeld,
    MergeRaced,
    RoamError,
    SyncthingError,
    SyncTimeout,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.lease.engine import LeaseEngine
    from session_roam.engine.resume.awareness import Awareness
    from session_roam.engine.sessions.pick import PickedSession
    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = ["HeldLease", "SyncthingCoordinator", "acquire_lease", "merge_pending"]

log = logging.getLogger(__name__)

#: How often the hand-over wait looks again: the bytes it waits for arrive whenever Syncthing
#: has them, and each look is one REST call and a stat (the hash only once the size matches).
_POLL_S: Final = 0.02
#: A wait shorter than this shows nothing: a hand-over usually waits a few tens of ms, and
#: the first message would import the terminal UI (rich) on the hot path.
_QUIET_S: Final = 0.5
#: Above this many needed files, roam waits for all of them rather than asking about each.
_NEED_CHECK_LIMIT: Final = 200
_ACQUIRE_ATTEMPTS: Final = 3
_RETRY_PAUSE_S: Final = 0.5


def acquire_lease(
    session_id: str,
    session_file: Path,
    *,
    force: bool = False,
    engine: LeaseEngine | None = None,
    attempts: int = _ACQUIRE_ATTEMPTS,
    queue: Callable[[str], None] | None = None,
) -> lease_api.Lease:
    """``lease.acquire`` that tries again after a transient Syncthing error.

    A scan can fail with a 500 for a moment (seen here: "folder marker missing" right after a
    folder starts); the protocol then withdraws its claim cleanly, so trying again is safe. A
    verdict (LeaseHeld, PeerUnreachable, SyncTimeout, a rejected key) is never retried.
    """
    for attempt in range(1, attempts + 1):
        try:
            return lease_api.acquire(
                session_id,
                force=force,
                session_file=session_file,
                stamp_timeout_s=None,  # waited for separately, with progress shown
                engine=engine,
                queue=queue,
            )
        except SyncthingError as exc:
            if type(exc) is not SyncthingError or attempt == attempts:
                raise
            log.warning("lease on %s: %s; trying again", session_id, exc.message)
            time.sleep(_RETRY_PAUSE_S * attempt)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _quietly(_sentence: str) -> None:
    """A queue that says nothing: the person already chose to wait, knowing for whom."""


def merge_pending(session: PickedSession, *, command: str = "roam cr") -> int:
    """Merge the session's conflict copies and take-over forks (this node holds the lease).

    Returns how many conflict copies were merged. ``command`` is the launch that merges them
    first: a merge Syncthing raced names it with this session in its hint, since running it
    again on the same session is the fix (a bare `roam cr` might pick a newer one).
    """
    try:  # its transcript caught in Syncthing's swap (its late turn arriving): once it is in
        files = read_settled(_with_transcript, session.path)
    except FileNotFoundError:
        files = find_session_files(session.project_dir, session.session_id)
    if not needs_repair(files):
        return 0
    from session_roam.engine.conflicts.merging import merge_session  # rare: off the hot path

    try:
        result = merge_session(files)
    except MergeRaced as exc:
        raise MergeRaced(
            exc.message,
            hint="Wait a moment for Syncthing to settle, then run "
            f"`{command} {session.session_id}` again: it merges the session's copies before "
            "claude starts.",
        ) from exc
    return len(result.removed)


def _with_transcript(path: Path) -> SessionFiles:
    """The session's files, FileNotFoundError when its transcript is not among them."""
    files = find_session_files(path.parent, path.stem)
    if not files.main_exists:
        raise FileNotFoundError(path)
    return files


class HeldLease:
    """A granted lease and the prompt guard armed with it, let go together."""

    def __init__(self, lease: lease_api.Lease, guard: Armed) -> None:
        self._lease = lease
        self._guard = guard
        self.notes = lease.notes  # why a grant without a majority stands, for the person
        self.claude_args = guard.args  # the hook that stops this claude if it is taken over

    def release(self, *, wrote: bool) -> None:
        try:
            self._lease.release(stamp=wrote)
        finally:
            self._guard.disarm()


class SyncthingCoordinator:
    """The ``Coordinator`` of ``engine.resume`` on top of ``engine.lease`` and Syncthing's REST."""

    def __init__(
        self,
        engine: LeaseEngine,
        client: SyncthingClient,
        folder_id: str,
        root: Path,
        *,
        queue: Callable[[str], None] | None = None,
    ) -> None:
        self._engine = engine
        self._queue = queue  # `roam cr --wait`: queue behind a holder; hears whom, once
        self._client = client
        self._folder = folder_id
        self._root = root
        self._me = engine.device_id
        self._stranded: list[str] = []
        self._offline = False

    @classmethod
    def on(
        cls, engine: LeaseEngine, *, queue: Callable[[str], None] | None = None
    ) -> SyncthingCoordinator:
        """The coordinator for an engine whose transport is the real Syncthing one."""
        transport = engine.transport
        if not isinstance(transport, SyncthingTransport):
            raise TypeError("SyncthingCoordinator needs a SyncthingTransport")
        return cls(engine, transport.client, transport.folder_id, transport.root, queue=queue)

    def acquire(self, session: PickedSession, *, forced: bool, wait: bool = False) -> HeldLease:
        if forced:
            taken = lease_api.steal(session.session_id, engine=self._engine)
            if taken is not None:
                log.warning(
                    "forced: took session %s over from %s",
                    session.session_id,
                    lease_api.holder_label(taken),
                )
        try:
            held = acquire_lease(
                session.session_id,
                session.path,
                force=forced or self._offline,  # offline: past the unreachable, not a steal
                engine=self._engine,
                queue=None if forced else self._queue or (_quietly if wait else None),
            )
        except HolderOffline as exc:
            raise HolderOffline(f"{exc.message} {what_is_here(session)}", hint=exc.hint) from exc
        except LeaseHeld as exc:
            if exc.hint != LeaseHeld.default_hint:
                raise
            raise HeldElsewhere(
                exc.message,
                hint=f"Run `roam cr --wait {session.session_id}` to start here the moment that "
                "machine is done, or take it over now with "
                f"`roam cr --force {session.session_id}` (the takeover is recorded).",
            ) from exc
        if forced or held.notes:  # notes: a provisional grant (lease_rule); both may fork
            self._mark_takeover(session)
        try:
            guard = arm(session.session_id, self._me, self._root, xdg.state_dir() / "guard")
        except BaseException:
            held.release(stamp=False)
            raise
        return HeldLease(held, guard)

    def _mark_takeover(self, session: PickedSession) -> None:
        """Record where this machine's turns will start, after merging what is here.

        The holder taken over may still be writing: with the point recorded, a late turn it
        appends to this same file is merged in, not lost (``engine/conflicts/forks.py``). Pending
        copies are merged first so that the point is the leaf claude will really resume from; a
        merge that fails here is left to the resume's own merge, which reports it.
        """
        try:
            merge_pending(session)
        except RoamError as exc:
            log.warning("could not merge %s before the take-over: %s", session.session_id, exc)
        mark_fork_point(session.path, session.session_id, self._me)

    def _pulling(self) -> int:
        """Files Syncthing still has to pull that a connected machine can actually provide.

        Syncthing keeps the index of a machine that went off, so a file it announced but nobody
        else has stays "needed" until it returns: waiting for it would only run into the
        timeout. Those are left out (and logged) when some peer is off.
        """
        status = self._client.folder_status(self._folder)
        needed = status.need_items + status.need_deletes
        if not needed or needed > _NEED_CHECK_LIMIT:
            return needed
        connections = self._client.connections()
        online = {d for d, c in connections.items() if c.connected and not c.paused}
        if all(d in online for d in self._client.folder(self._folder).device_ids if d != self._me):
            return needed
        available = 0
        stranded = []
        for name in self._client.needed_names(self._folder, limit=_NEED_CHECK_LIMIT):
            info = self._client.file_info(self._folder, name)
            if info is not None and online.intersection(info.availability):
                available += 1
            else:
                stranded.append(name)
        if stranded and stranded != self._stranded:
            self._stranded = stranded
            log.warning(
                "%d file(s) announced by a machine that is off cannot be fetched now "
                "(first: %s); going on without them.",
                len(stranded),
                stranded[0],
            )
        return available

    def wait_in_sync(
        self, session: PickedSession, *, timeout_s: float, on_wait: Callable[[str], None]
    ) -> None:
        if self._offline:
            return  # nobody can be reached to deliver anything (engine.choose)
        began = time.monotonic()
        deadline = began + timeout_s
        while True:
            pulling = self._pulling()
            try:
                lease_api.wait_for_release_stamp(
                    session.session_id, session.path, timeout_s=0, engine=self._engine
                )
                stamp_problem: SyncTimeout | None = None
            except SyncTimeout as exc:
                stamp_problem = exc
            if not pulling and stamp_problem is None:
                return
            if time.monotonic() >= deadline:
                if stamp_problem is not None:
                    raise SyncTimeout(
                        stamp_problem.message,
                        hint="Check that the other machine is connected (`roam status`); "
                        "`roam cr --force` resumes the older copy here anyway.",
                    )
                raise SyncTimeout(
                    f"Syncthing still had {pulling} files to pull after {timeout_s:g} s.",
                    hint="Check `roam status`; `roam cr --force` resumes without waiting.",
                )
            what = "the previous writer's last turn" if stamp_problem else f"{pulling} files"
            if time.monotonic() - began >= _QUIET_S:
                on_wait(f"Waiting for Syncthing to deliver {what}...")
            time.sleep(_POLL_S)

    def await_cluster(
        self, scope: Callable[[str], bool], *, timeout_s: float, on_wait: Callable[[str], None]
    ) -> Awareness:
        """What the cluster has, waited for (engine.awareness; imported only here, since a
        ``roam cr ID`` of a session this machine has never asks)."""
        from session_roam.engine.resume.awareness import await_cluster

        return await_cluster(
            self._client,
            self._folder,
            self._root,
            scope=scope,
            timeout_s=timeout_s,
            on_wait=on_wait,
        )

    def go_offline(self) -> None:
        self._offline = True

    def newer_elsewhere(self, session: PickedSession) -> str | None:
        root = Path(os.path.realpath(self._root))
        try:
            relative = Path(os.path.realpath(session.path)).relative_to(root).as_posix()
        except ValueError:  # resumed from outside the synced folder: nothing to compare
            return None
        try:
            info = self._client.file_info(self._folder, relative)
        except SyncthingError:
            return None
        if info is None:
            return None
        global_version = (info.raw.get("global") or {}).get("version")
        local_version = (info.raw.get("local") or {}).get("version")
        if global_version and global_version != local_version:
            return (
                f"Another machine has a newer version of session {session.session_id} "
                "that has not arrived here yet."
            )
        return None
