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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.claude.launch import ChildExit, find_claude, run_child
from session_roam.engine.core import xdg
from session_roam.engine.core.paths import (
    claude_config_dir,
    project_dir_for,
    projects_dir,
    validate_session_id,
)
from session_roam.engine.deletions.archive import archive_before_launch
from session_roam.engine.lease import api as lease_api
from session_roam.engine.lease.model import resolve_steals
from session_roam.engine.resume.awareness_model import scope_for
from session_roam.engine.resume.choose import choose_session
from session_roam.engine.resume.coordinator import SyncthingCoordinator, merge_pending
from session_roam.engine.resume.safe import (
    NO_SYNC_WARNING,
    ResumeOutcome,
    Resumer,
    ResumeRequest,
    StartNewInstead,
)
from session_roam.engine.sessions.journal import Journal
from session_roam.engine.sessions.pathmap import load_pathmap, local_project_dirs
from session_roam.engine.sessions.pick import PickedSession, new_session, pick_newest, pick_session
from session_roam.engine.syncthing.syncready import NO_LEASE_HINT, sync_here
from session_roam.engine.travel.carry import companions_around
from session_roam.errors import (
    RoamError,
    SessionNotFound,
    SyncthingUnreachable,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from session_roam.engine.resume.safe import ResumeUI

    #: Starts a new conversation instead (``engine.newsession.run_fresh``), for ``run_cr``.
    Fresh = Callable[
        ["CrOptions", ResumeUI, SyncthingCoordinator | None, PickedSession], ResumeOutcome
    ]

    #: Runs claude and waits for it: ``run_child``'s signature (``env`` complete, ``cwd``).
    Launcher = Callable[..., ChildExit]

__all__ = [
    "NO_LEASE_WARNING",
    "ChildExit",  # what a ``CrOptions.launcher`` returns, for the face
    "CrOptions",
    "agent_namespaces",
    "coordinator_for",
    "local_warning",
    "open_coordinator",
    "run_cr",
]

log = logging.getLogger(__name__)

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
    #: ``--wait``: queue behind the machine that holds the session instead of stopping.
    wait: bool = False
    #: What starts claude, when not ``run_child`` in this process: the cr server's child has
    #: its client start it, in the terminal's foreground process group (cli.crserver).
    launcher: Launcher | None = None


#: Said when ``--no-lease`` skips the lease, so that nobody uses it without knowing the cost.
NO_LEASE_WARNING: Final = (
    "--no-lease: going on without the lease, so another machine may write this session at the "
    "same time; Syncthing then keeps a conflict copy, which `roam conflicts merge` joins back."
)


def open_coordinator(
    claude_dir: Path | None,
    *,
    force: bool = False,
    syncthing_home: Path | None = None,
    no_lease: bool = False,
    sync_timeout_s: float = 60.0,
    queue: Callable[[str], None] | None = None,
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
        engine = lease_api.open_engine(
            claude_dir,
            syncthing_home=here.home.path,
            folder_id=here.folder_id,
            device_id=here.device_id,
        )
    except SyncthingUnreachable as exc:
        raise SyncthingUnreachable(
            exc.message, hint=f"{exc.hint} Then try again, {NO_LEASE_HINT}"
        ) from exc
    return SyncthingCoordinator.on(engine, queue=queue)


def coordinator_for(
    options: CrOptions, queue: Callable[[str], None] | None = None
) -> SyncthingCoordinator | None:
    """``open_coordinator`` for one launch (cr, cn, cfork, crf); ``queue`` (with ``--wait``)
    hears whom the acquisition waits behind."""
    return open_coordinator(
        options.claude_dir,
        force=options.force,
        syncthing_home=options.syncthing_home,
        no_lease=options.no_lease,
        sync_timeout_s=options.sync_timeout_s,
        queue=queue,
    )


def local_warning(options: CrOptions) -> str:
    """What a launch says when it goes on without a lease (``ResumeRequest.local_warning``)."""
    return NO_LEASE_WARNING if options.no_lease else NO_SYNC_WARNING


def agent_namespaces(config_dir: Path | None = None) -> tuple[Path, ...]:
    """Folders listed as agent namespaces in roam's config (``agent_namespaces = [...]``)."""
    path = (config_dir if config_dir is not None else xdg.config_dir()) / _CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ()
    import tomllib  # only with a config file: none costs roam cr no import

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return ()
    raw = data.get("agent_namespaces", [])
    if not isinstance(raw, list):
        return ()
    return tuple(Path(os.path.realpath(Path(str(item)).expanduser())) for item in raw)


def _launch(argv: Sequence[str], env: Mapping[str, str], launcher: Launcher | None) -> ChildExit:
    return (launcher or run_child)(argv, env={**os.environ, **env})


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


def run_cr(options: CrOptions, ui: ResumeUI, fresh: Fresh | None = None) -> ResumeOutcome:
    """Pick the session, then check, lease, wait, merge, run claude and release (engine.resume).

    ``fresh`` starts a new conversation where this directory has no session on any machine,
    and when the person says no to a stale one (without it, those refuse as before)."""
    config = claude_config_dir(options.claude_dir)
    project = project_dir_for(options.cwd, config)
    coordinator = coordinator_for(options, ui.info if options.wait else None)

    def pick() -> PickedSession:
        try:
            if not options.query:  # the cwd's sessions, and those recorded under a mapped path
                return pick_newest(
                    local_project_dirs(options.cwd, config, load_pathmap(xdg.config_dir()))
                )
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
        new=(lambda: new_session(project)) if fresh and options.query is None else None,
    )
    if fresh is not None and session.chosen_by == "new":
        return fresh(options, ui, coordinator, session)
    for note in session.agents_next:
        ui.info(note)
    claude = find_claude()

    def launch(argv: Sequence[str], env: Mapping[str, str]) -> ChildExit:
        archive_before_launch(projects_dir(config))  # claude's clean-up runs as it starts
        with companions_around(session.path, config, session.session_id, ui.warn):  # engine.travel
            return _launch(argv, env, options.launcher)

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
        ask_stale=fresh is not None,
    )
    try:
        return resumer.run(session, request)
    except StartNewInstead:
        if fresh is None:
            raise
        ui.info(f"Left {session.session_id} as it was; starting a new conversation.")
        return fresh(options, ui, coordinator, new_session(project))
