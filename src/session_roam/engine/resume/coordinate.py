"""``roam cr`` wired to the real world: the local Syncthing, the lease, the merge, claude itself.

roam works with whatever Syncthing runs here, as long as one of its folders shares Claude's
projects folder (any folder id; ``roam setup`` is not required). With no Syncthing configured,
or none sharing that folder, ``roam cr`` still resumes, with a warning that it cannot
coordinate: nothing it writes reaches another machine. On a machine set up for sync roam never
writes without the lease: a Syncthing that is not running is started (``engine.syncready``),
and one that cannot be reached makes ``roam cr`` refuse, ``--force`` included, since it may be
hiding a peer's newer turns. ``--no-lease`` is the deliberate, announced way past.
"""

from __future__ import annotations

import logging
import os
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.claude.launch import ChildExit, find_claude, run_child
from session_roam.engine.conflicts.forks import mark_fork_point, needs_repair
from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.core import xdg
from session_roam.engine.core.paths import (
    claude_config_dir,
    project_dir_for,
    projects_dir,
    validate_session_id,
)
from session_roam.engine.core.store import find_session_files
from session_roam.engine.deletions.archive import archive_before_launch
from session_roam.engine.lease import api as lease_api
from session_roam.engine.lease.model import resolve_steals
from session_roam.engine.lease.prompt_guard import Armed, arm
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.resume.awareness import await_cluster, scope_for
from session_roam.engine.resume.choose import choose_session
from session_roam.engine.resume.safe import NO_SYNC_WARNING, ResumeOutcome, Resumer, ResumeRequest
from session_roam.engine.sessions.journal import Journal
from session_roam.engine.sessions.pick import PickedSession, pick_session
from session_roam.engine.syncthing.syncready import NO_LEASE_HINT, sync_here
from session_roam.errors import (
    HolderOffline,
    LeaseHeld,
    RoamError,
    SessionNotFound,
    SyncthingError,
    SyncthingUnreachable,
    SyncTimeout,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from session_roam.engine.lease.engine import LeaseEngine
    from session_roam.engine.resume.awareness import Awareness
    from session_roam.engine.resume.safe import ResumeUI
    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = [
    "NO_LEASE_WARNING",
    "CrOptions",
    "SyncthingCoordinator",
    "acquire_lease",
    "agent_namespaces",
    "coordinator_for",
    "local_warning",
    "merge_pending",
    "open_coordinator",
    "run_cr",
    "what_is_here",
]

log = logging.getLogger(__name__)

_POLL_S: Final = 0.1
#: Above this many needed files, roam waits for all of them rather than asking about each.
_NEED_CHECK_LIMIT: Final = 200
_ACQUIRE_ATTEMPTS: Final = 3
_RETRY_PAUSE_S: Final = 0.5
_CONFIG_NAME: Final = "config.toml"
_PEER_WAIT_S: Final = 15.0


@dataclass(frozen=True, slots=True)
class CrOptions:
    """What ``roam cr`` (or ``cn``/``cfork``/``crf``) was asked to do.

    For ``cn`` ``query`` is the new session's name, for ``cfork``/``crf`` the session to fork.
    """

    cwd: Path
    claude_dir: Path | None = None
    query: str | None = None
    force: bool = False
    claude_args: tuple[str, ...] = ()
    sync_timeout_s: float = 60.0
    #: ``--syncthing-home``: this machine's Syncthing home, when not the one roam would find.
    syncthing_home: Path | None = None
    #: ``--no-lease``: resume without coordinating, knowingly (see ``NO_LEASE_WARNING``).
    no_lease: bool = False
    #: With no other machine reachable, resume from this machine's files (engine.choose).
    offline: bool = False


#: Said when ``--no-lease`` skips the lease, so that nobody uses it without knowing the cost.
NO_LEASE_WARNING: Final = (
    "--no-lease: going on without the lease, so another machine may write this session at the "
    "same time; Syncthing then keeps a conflict copy, which `roam conflicts merge` joins back."
)


def acquire_lease(
    session_id: str,
    session_file: Path,
    *,
    force: bool = False,
    engine: LeaseEngine | None = None,
    attempts: int = _ACQUIRE_ATTEMPTS,
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
            )
        except SyncthingError as exc:
            if type(exc) is not SyncthingError or attempt == attempts:
                raise
            log.warning("lease on %s: %s; trying again", session_id, exc.message)
            time.sleep(_RETRY_PAUSE_S * attempt)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def what_is_here(session: PickedSession) -> str:
    """What this machine's copy of a session holds, for a person deciding whether to --force."""
    from session_roam.engine.sessions.listing import summarize

    summary = summarize(find_session_files(session.project_dir, session.session_id))
    if summary is None or not summary.turns:
        return "This machine has no turn of it yet."
    turns = "1 turn" if summary.turns == 1 else f"{summary.turns} turns"
    when = f", at {summary.last_activity}," if summary.last_activity else ""
    last = f"; the last{when} was {summary.last_prompt!r}" if summary.last_prompt else ""
    return f"This machine has {turns} of it{last}."


class _HeldLease:
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
        self, engine: LeaseEngine, client: SyncthingClient, folder_id: str, root: Path
    ) -> None:
        self._engine = engine
        self._client = client
        self._folder = folder_id
        self._root = root
        self._me = engine.device_id
        self._stranded: list[str] = []
        self._offline = False

    @classmethod
    def on(cls, engine: LeaseEngine) -> SyncthingCoordinator:
        """The coordinator for an engine whose transport is the real Syncthing one."""
        transport = engine.transport
        if not isinstance(transport, SyncthingTransport):
            raise TypeError("SyncthingCoordinator needs a SyncthingTransport")
        return cls(engine, transport.client, transport.folder_id, transport.root)

    def acquire(self, session: PickedSession, *, forced: bool) -> _HeldLease:
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
            )
        except HolderOffline as exc:
            raise HolderOffline(f"{exc.message} {what_is_here(session)}", hint=exc.hint) from exc
        except LeaseHeld as exc:
            if exc.hint != LeaseHeld.default_hint:
                raise
            raise LeaseHeld(
                exc.message,
                hint="Finish the session on that machine first, or take it over with "
                f"`roam cr --force {session.session_id}` (the takeover is recorded).",
            ) from exc
        if forced or held.notes:  # notes: a provisional grant (lease_rule); both may fork
            self._mark_takeover(session)
        try:
            guard = arm(session.session_id, self._me, self._root, xdg.state_dir() / "guard")
        except BaseException:
            held.release(stamp=False)
            raise
        return _HeldLease(held, guard)

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
        deadline = time.monotonic() + timeout_s
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
            on_wait(f"Waiting for Syncthing to deliver {what}...")
            time.sleep(_POLL_S)

    def await_cluster(
        self, scope: Callable[[str], bool], *, timeout_s: float, on_wait: Callable[[str], None]
    ) -> Awareness:
        """What the cluster has, waited for (engine.awareness)."""
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


def open_coordinator(
    claude_dir: Path | None,
    *,
    force: bool = False,
    syncthing_home: Path | None = None,
    no_lease: bool = False,
    sync_timeout_s: float = 60.0,
) -> SyncthingCoordinator | None:
    """The coordinator for this machine; None with ``no_lease`` or when it is not set up for
    sync. Its Syncthing is started when it is not running; one that cannot be reached raises,
    whatever ``force`` says: --force takes a lease over, it never writes without one (it only
    skips the wait for peers after a start, as it skips every wait)."""
    if no_lease:
        return None
    here = sync_here(
        projects_dir(claude_config_dir(claude_dir)),
        syncthing_home,
        peer_wait_s=0.0 if force else min(_PEER_WAIT_S, sync_timeout_s),
    )
    if here is None:
        return None
    if here.started is not None:
        log.warning(
            "Syncthing was not running; roam started it (%s) in %.1f s",
            here.started.how,
            here.started_s,
        )
    try:
        engine = lease_api.open_engine(claude_dir, syncthing_home=here.home.path)
    except SyncthingUnreachable as exc:
        raise SyncthingUnreachable(
            exc.message, hint=f"{exc.hint} Then try again, {NO_LEASE_HINT}"
        ) from exc
    return SyncthingCoordinator.on(engine)


def coordinator_for(options: CrOptions) -> SyncthingCoordinator | None:
    """``open_coordinator`` for one launch (cr, cn, cfork, crf)."""
    return open_coordinator(
        options.claude_dir,
        force=options.force,
        syncthing_home=options.syncthing_home,
        no_lease=options.no_lease,
        sync_timeout_s=options.sync_timeout_s,
    )


def local_warning(options: CrOptions) -> str:
    """What a launch says when it goes on without a lease (``ResumeRequest.local_warning``)."""
    return NO_LEASE_WARNING if options.no_lease else NO_SYNC_WARNING


def agent_namespaces(config_dir: Path | None = None) -> tuple[Path, ...]:
    """Folders listed as agent namespaces in roam's config (``agent_namespaces = [...]``)."""
    path = (config_dir if config_dir is not None else xdg.config_dir()) / _CONFIG_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return ()
    raw = data.get("agent_namespaces", [])
    if not isinstance(raw, list):
        return ()
    return tuple(Path(os.path.realpath(Path(str(item)).expanduser())) for item in raw)


def merge_pending(session: PickedSession) -> int:
    """Merge the session's conflict copies and take-over forks (this node holds the lease).

    Returns how many conflict copies were merged.
    """
    files = find_session_files(session.project_dir, session.session_id)
    if not needs_repair(files):
        return 0
    result = merge_session(files)
    return len(result.removed)


def _launch(argv: Sequence[str], env: Mapping[str, str]) -> ChildExit:
    return run_child(argv, env={**os.environ, **env})


def _known_elsewhere(query: str | None, claude_dir: Path | None) -> str | None:
    """Why a session id that is not here exists anyway: its lease claims arrived, its file not.

    A claim is published before claude writes a byte, so right after another machine started
    (or released) a session its claims can be here while the file is still on its way.
    """
    try:
        session_id = validate_session_id(query or "")
        engine = lease_api.open_engine(claude_dir)
    except RoamError:
        return None
    with engine:
        try:
            views = resolve_steals(engine.views(session_id))
        except (RoamError, OSError):
            return None
    claims = [v for v in views if v.claim is not None and v.device != engine.device_id]
    if not claims:
        return None
    live = [v for v in claims if v.live]
    latest = max(live or claims, key=lambda v: v.claim.ticket if v.claim else 0)
    doing = "is being written on" if live else "was last written on"
    return (
        f"Session {session_id} {doing} {lease_api.holder_label(latest)}, and its file has not "
        "reached this machine yet."
    )


def run_cr(options: CrOptions, ui: ResumeUI) -> ResumeOutcome:
    """Pick the session, then check, lease, wait, merge, run claude and release (engine.resume)."""
    config = claude_config_dir(options.claude_dir)
    project = project_dir_for(options.cwd, config)
    coordinator = coordinator_for(options)

    def pick() -> PickedSession:
        try:
            return pick_session(project, projects_dir(config), options.query)
        except SessionNotFound as missing:
            known = _known_elsewhere(options.query, options.claude_dir)
            if known is None:
                raise
            raise SessionNotFound(
                known, hint="Wait for Syncthing to deliver it (`roam status`), then run this again."
            ) from missing

    session = choose_session(
        pick,
        cluster=coordinator,
        scope=scope_for(options.query, project),
        query=options.query,
        force=options.force,
        offline=options.offline,
        timeout_s=options.sync_timeout_s,
        ui=ui,
    )
    claude = find_claude()

    def launch(argv: Sequence[str], env: Mapping[str, str]) -> ChildExit:
        archive_before_launch(projects_dir(config))  # claude's clean-up runs as it starts
        return _launch(argv, env)

    resumer = Resumer(
        coordinator=coordinator,
        journal=Journal(),
        ui=ui,
        merge_conflicts=merge_pending,
        launch=launch,
    )
    request = ResumeRequest(
        project_dir=project,
        claude_bin=claude,
        query=options.query,
        force=options.force,
        claude_args=options.claude_args,
        agent_namespaces=agent_namespaces(),
        sync_timeout_s=options.sync_timeout_s,
        local_warning=local_warning(options),
    )
    return resumer.run(session, request)
