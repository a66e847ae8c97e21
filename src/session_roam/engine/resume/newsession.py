"""``roam cn``, ``roam cfork``, ``roam crf``: start sessions through the same door as ``roam cr``.

The seed's shortcuts called ``claude`` directly and so skipped the lock (and ``crf`` slept two
seconds hoping sync had finished). Here every launch goes through ``engine.resume.Resumer`` with
the real collaborators of ``engine.coordinate``: lease first, wait for the previous writer's last
turn, merge pending conflict copies, journal, run claude, release on every way out.

* ``cfork ID`` / ``crf``: the lease is taken on the session being forked, so the fork starts from
  every turn any machine wrote; claude runs as ``claude -r ID --fork-session``, which writes a
  new file and leaves the original byte-identical.
* ``cn NAME``: roam chooses the new session's id itself (``claude --session-id UUID -n NAME``),
  so the lease can be taken on that id *before* claude writes a byte.

Adapter: ``Resumer`` always builds ``claude -r ID ARGS``. For ``cn`` the launch callable given
to it rewrites that to ``--session-id ID -n NAME ARGS``; nothing else about the run changes.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Final

from session_roam.errors import InvalidInput, SessionNotFound

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from session_roam.engine.claude.launch import ChildExit
    from session_roam.engine.resume.coordinate import CrOptions
    from session_roam.engine.resume.coordinator import SyncthingCoordinator
    from session_roam.engine.resume.safe import ResumeOutcome, ResumeUI
    from session_roam.engine.sessions.pick import PickedSession

__all__ = [
    "fork_argv_args",
    "newest_local_session",
    "run_cr",
    "run_fork",
    "run_fresh",
    "run_new",
    "validate_session_name",
]

_PLAIN: Final = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_PLAIN_RE: Final = re.compile(_PLAIN)
_AGENT_RE: Final = re.compile(rf"agent:{_PLAIN}/{_PLAIN}")
FORK_FLAG: Final = "--fork-session"


def validate_session_name(name: str) -> str:
    """A name people give (``notes-2``) or an agent's (``agent:reviewer/pr-42``), per
    CONVENTIONS.md §4; anything else is refused before claude is started."""
    value = name.strip()
    if _PLAIN_RE.fullmatch(value) or _AGENT_RE.fullmatch(value):
        return value
    raise InvalidInput(
        f"{name!r} is not a valid session name: use letters, digits, '.', '_' and '-' (at most "
        "64, starting with a letter or digit), or agent:<agent-name>/<topic> for an agent.",
        hint="For example `roam cn refactor-auth` or `roam cn agent:reviewer/pr-42`.",
    )


def fork_argv_args(extra: Sequence[str]) -> tuple[str, ...]:
    return (FORK_FLAG, *[arg for arg in extra if arg != FORK_FLAG])


def _named_launch(
    name: str | None, launch: Callable[[Sequence[str], Mapping[str, str]], ChildExit]
) -> Callable[[Sequence[str], Mapping[str, str]], ChildExit]:
    def run(argv: Sequence[str], env: Mapping[str, str]) -> ChildExit:
        # Resumer hands over [claude, "-r", ID, *ARGS]; a new session is "--session-id ID".
        binary, _flag, session_id, *rest = argv
        named = ("-n", name) if name is not None else ()
        return launch([binary, "--session-id", session_id, *named, *rest], env)

    return run


def newest_local_session(cwd: Path, claude_dir: Path | None) -> PickedSession:
    """The session ``claude -c`` would continue here, including sessions under mapped paths."""
    from session_roam.engine.core import xdg
    from session_roam.engine.core.paths import claude_config_dir, projects_dir
    from session_roam.engine.sessions.pathmap import load_pathmap, local_project_dirs
    from session_roam.engine.sessions.pick import pick_session

    config = claude_config_dir(claude_dir)
    picked: list[PickedSession] = []
    folders = local_project_dirs(cwd, config, load_pathmap(xdg.config_dir()))
    for folder in folders:
        try:
            picked.append(pick_session(folder, projects_dir(config), None))
        except SessionNotFound:
            continue
    if not picked:
        raise SessionNotFound(
            f"No session to fork in {cwd}.",
            hint="Start one with `roam cn NAME`, or `roam ls --all`.",
        )
    return max(picked, key=lambda p: _mtime(p.path))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("-inf")


def _run(
    session: PickedSession,
    options: CrOptions,
    ui: ResumeUI,
    *,
    claude_args: tuple[str, ...],
    merge: str | None,
    name: str | None = None,
    coordinator: SyncthingCoordinator | None = None,
    opened: bool = False,
) -> ResumeOutcome:
    """One launch through ``Resumer`` (a ``new_session`` is started with ``--session-id``);
    ``merge``: the command run, which merges pending copies before claude starts (None: none);
    ``opened``: ``coordinator`` is the one to use, even None (no second look for Syncthing)."""
    from session_roam.engine.claude.launch import find_claude, run_child
    from session_roam.engine.deletions.archive import archive_before_launch
    from session_roam.engine.resume.coordinate import (
        agent_namespaces,
        coordinator_for,
        local_warning,
    )
    from session_roam.engine.resume.coordinator import merge_pending
    from session_roam.engine.resume.safe import Resumer, ResumeRequest
    from session_roam.engine.sessions.journal import Journal
    from session_roam.engine.travel.carry import companions_around

    def launch(argv: Sequence[str], env: Mapping[str, str]) -> ChildExit:
        archive_before_launch(session.project_dir.parent)  # claude's clean-up runs as it starts
        config, sid = session.project_dir.parent.parent, session.session_id  # engine.travel
        with companions_around(session.path, config, sid, ui.warn):
            run = options.launcher or run_child  # the cr server's child: its client runs it
            return run(argv, env={**os.environ, **env}, cwd=options.cwd)

    new = session.chosen_by == "new"
    if coordinator is None and not opened:
        coordinator = coordinator_for(options)
    resumer = Resumer(
        coordinator=coordinator,
        journal=Journal(),
        ui=ui,
        merge_conflicts=(
            (lambda picked: merge_pending(picked, command=merge)) if merge else (lambda _session: 0)
        ),
        launch=_named_launch(name, launch) if new else launch,
    )
    request = ResumeRequest(
        project_dir=session.project_dir,
        claude_bin=find_claude(),
        query=session.session_id,
        force=options.force,
        claude_args=claude_args,
        agent_namespaces=() if new else agent_namespaces(),
        sync_timeout_s=options.sync_timeout_s,
        local_warning=local_warning(options),
    )
    return resumer.run(session, request)


def run_new(options: CrOptions, ui: ResumeUI) -> ResumeOutcome:
    """``roam cn NAME``: a new named session, leased under an id roam picked."""
    from session_roam.engine.core.paths import claude_config_dir, project_dir_for
    from session_roam.engine.sessions.pick import new_session

    name = validate_session_name(options.query or "")
    project = project_dir_for(options.cwd, claude_config_dir(options.claude_dir))
    # No title on the picked session: the agent check is for resuming someone else's session,
    # and a session being created is nobody else's yet.
    session = new_session(project)
    return _run(session, options, ui, claude_args=options.claude_args, merge=None, name=name)


def run_fresh(
    options: CrOptions,
    ui: ResumeUI,
    coordinator: SyncthingCoordinator | None,
    session: PickedSession,
) -> ResumeOutcome:
    """``roam cr`` where no session exists yet (``session`` is ``pick.new_session``'s): a new
    conversation, leased first, as the bash version's ``claude -c`` started one."""
    args = options.claude_args  # the coordinator is engine.coordinate's (None: no sync here)
    return _run(
        session, options, ui, claude_args=args, merge=None, coordinator=coordinator, opened=True
    )


def run_cr(options: CrOptions, ui: ResumeUI) -> ResumeOutcome:
    """``roam cr``: ``engine.coordinate.run_cr`` that starts a new conversation where there is
    none yet, or when the person says no to a stale one, as the bash version's ``cr`` did."""
    from session_roam.engine.resume.coordinate import run_cr as resume

    return resume(options, ui, fresh=run_fresh)


def run_fork(options: CrOptions, ui: ResumeUI) -> ResumeOutcome:
    """``roam cfork ID`` (or ``roam crf`` when ``query`` is None): fork under the lease."""
    from session_roam.engine.core.paths import claude_config_dir, project_dir_for, projects_dir
    from session_roam.engine.resume.awareness import scope_for
    from session_roam.engine.resume.choose import choose_session
    from session_roam.engine.resume.coordinate import coordinator_for
    from session_roam.engine.sessions.pick import pick_session

    config = claude_config_dir(options.claude_dir)
    project = project_dir_for(options.cwd, config)

    def pick() -> PickedSession:
        if options.query is None:
            return newest_local_session(options.cwd, options.claude_dir)
        return pick_session(project, projects_dir(config), options.query)

    # Like cr: the newest session (or one named but not here yet) is chosen on what the
    # cluster has, not on what this machine happens to hold (engine.choose).
    coordinator = coordinator_for(options)
    session = choose_session(
        pick,
        cluster=coordinator,
        scope=scope_for(options.query, project),
        query=options.query,
        force=options.force,
        offline=False,
        timeout_s=options.sync_timeout_s,
        ui=ui,
        offline_hint="or pass --force to fork from this machine's files anyway",
    )
    return _run(
        session,
        options,
        ui,
        claude_args=fork_argv_args(options.claude_args),
        merge="roam cfork",  # `roam cfork ID` forks the same session again, as crf did
        coordinator=coordinator,
    )
