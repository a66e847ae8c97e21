"""``roam cr``: resume a session on this machine only when that is safe, and always let go after.

The order is what makes it safe, and each step has a reason:

1. pick the session (``engine.pick``: what ``claude -c`` would pick, or the one named);
2. namespace check: an ``agent:`` session (or one under an agent's folder) is not resumed by
   someone else without a yes;
3. take the lease *first*: once it is ours nobody else can append, so everything that follows
   (waiting, merging) works on a file that only peers' past writes can still change;
4. wait for real sync: nothing left to pull for the session, and the local file holds exactly
   the bytes the previous writer stamped when it released (no fixed sleep);
5. merge pending conflict copies, so that Claude resumes every turn and not one branch;
6. staleness warnings (a peer still has a newer version; the session is over a day old);
7. journal the launch, run ``claude -r <id> ARGS`` as a child, and — on every way out: normal
   exit, Ctrl-C, SIGTERM, SIGHUP, claude crashing, an error while waiting — journal the release
   and release the lease with a stamp of the file as claude left it.

``--force`` skips 2, 4 and the waits in 3 (it takes the lease over instead), says so loudly, and
records it in the journal and in the lease claim. Collaborators are Protocols so that unit
tests run the whole order with fakes and the CLI wires the real ones (``engine.coordinate``).
"""

from __future__ import annotations

import logging
import signal
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from session_roam.engine.claude.hookrun import CR_SESSION_ENV
from session_roam.engine.core.bounded import iter_file_lines, load_record
from session_roam.engine.lease.prompt_guard import takes_later_prompts
from session_roam.engine.resume.release_journal import release_and_journal
from session_roam.engine.resume.signals import Terminated, signals_blocked, terminations_raise
from session_roam.errors import HeldElsewhere, HolderOffline, InvalidInput

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from session_roam.engine.claude.launch import ChildExit
    from session_roam.engine.sessions.journal import Journal
    from session_roam.engine.sessions.pick import PickedSession

__all__ = [
    "AGENT_PREFIX",
    "NO_SYNC_WARNING",
    "STALE_AFTER_S",
    "Coordinator",
    "HeldLease",
    "ResumeOutcome",
    "ResumeRequest",
    "ResumeUI",
    "Resumer",
    "StartNewInstead",
    "claude_argv",
    "session_cwd",
]

log = logging.getLogger(__name__)

#: Sessions named for an agent (CONVENTIONS.md §4) start with this.
AGENT_PREFIX: Final = "agent:"
#: The seed's threshold: a session last written more than a day ago earns a warning.
STALE_AFTER_S: Final = 24 * 3600.0


class StartNewInstead(Exception):
    """The person answered the stale question with "no": start a new conversation instead
    (the lease of the stale session is released first, untouched)."""


class HeldLease(Protocol):
    """A lease this node holds; it renews itself until released."""

    def release(self, *, wrote: bool) -> None:
        """Let go. ``wrote``: stamp the file's final bytes (claude ran); otherwise stamp nothing,
        so the next writer still waits for the bytes the previous holder left, not our copy."""
        ...


class Coordinator(Protocol):
    """The cluster as ``roam cr`` needs it (Syncthing + the lease)."""

    def acquire(self, session: PickedSession, *, forced: bool, wait: bool = False) -> HeldLease:
        """Raises LeaseHeld (with holder and how to take over) or PeerUnreachable; ``wait``
        queues behind a connected holder instead of raising ``HeldElsewhere``."""
        ...

    def wait_in_sync(
        self, session: PickedSession, *, timeout_s: float, on_wait: Callable[[str], None]
    ) -> None:
        """Return once nothing is left to pull and the file holds the bytes the previous holder
        stamped at release; SyncTimeout (naming what is missing) otherwise."""
        ...

    def newer_elsewhere(self, session: PickedSession) -> str | None:
        """A sentence when a peer has a newer version of the file than this node has, else None."""
        ...


class ConflictMerger(Protocol):
    def __call__(self, session: PickedSession) -> int:
        """Merge pending conflict copies of the session; return how many copies were merged."""
        ...


class ResumeUI(Protocol):
    def warn(self, message: str) -> None: ...
    def info(self, message: str) -> None: ...
    def confirm(self, question: str, *, default: bool = False) -> bool:
        """Ask ``[y/N]`` (``[Y/n]`` when ``default``); False when nobody can answer (not a
        terminal)."""
        ...

    @property
    def interactive(self) -> bool: ...
    def waiting(self, message: str) -> None:
        """Progress while waiting for sync (a spinner on a terminal)."""
        ...


#: Why a machine that is not set up for sync resumes without a lease.
NO_SYNC_WARNING: Final = (
    "No Syncthing here shares the projects folder, so roam cannot coordinate with other "
    "machines (and nothing written here reaches them): resuming locally without a lease."
)


@dataclass(frozen=True, slots=True)
class ResumeRequest:
    """One ``roam cr`` invocation."""

    project_dir: Path
    claude_bin: Path
    query: str | None = None
    force: bool = False
    claude_args: tuple[str, ...] = ()
    agent_namespaces: tuple[Path, ...] = ()
    sync_timeout_s: float = 60.0
    stale_after_s: float = STALE_AFTER_S
    #: Said when there is no coordinator: why this launch goes on without a lease.
    local_warning: str = NO_SYNC_WARNING
    #: ``roam cr``: on a terminal a stale newest session is a question (``StartNewInstead``).
    ask_stale: bool = False


@dataclass(frozen=True, slots=True)
class ResumeOutcome:
    session: PickedSession
    exit_code: int
    signals: tuple[int, ...] = ()
    merged_copies: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)


def claude_argv(claude_bin: Path, session_id: str, extra: Sequence[str]) -> list[str]:
    """``claude -r <id> ARGS``: resume by id so claude appends to exactly the file roam checked."""
    return [str(claude_bin), "-r", session_id, *extra]


def session_cwd(path: Path) -> Path | None:
    """The ``cwd`` recorded in the session's rows (the slug cannot be decoded)."""
    try:
        for line in iter_file_lines(path):  # bounded, never through a link (engine.bounded)
            if b'"cwd"' not in line:
                continue
            row = load_record(line)
            if isinstance(row, dict) and isinstance(row.get("cwd"), str):
                return Path(row["cwd"])
    except OSError:
        return None
    return None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class Resumer:
    """Runs ``roam cr`` with the collaborators it is given."""

    def __init__(
        self,
        *,
        coordinator: Coordinator | None,
        journal: Journal,
        ui: ResumeUI,
        merge_conflicts: ConflictMerger,
        launch: Callable[[Sequence[str], Mapping[str, str]], ChildExit],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._coordinator = coordinator
        self._journal = journal
        self._ui = ui
        self._merge = merge_conflicts
        self._launch = launch
        self._clock = clock

    # -- checks ----------------------------------------------------------------------------
    def _agent_reason(self, session: PickedSession, request: ResumeRequest) -> str | None:
        if session.agent is not None:  # engine.agentmark: a name, or a marker (bash version's)
            return session.agent
        if session.title is not None and session.title.startswith(AGENT_PREFIX):
            return f"it is named {session.title!r}"
        cwd = session_cwd(session.path)
        for folder in request.agent_namespaces:
            if cwd is not None and _inside(cwd, folder):
                return f"it was started in the agent namespace {folder}"
        return None

    def _check_namespace(self, session: PickedSession, request: ResumeRequest) -> None:
        reason = self._agent_reason(session, request)
        if reason is None:
            return
        question = f"Session {session.session_id} belongs to an agent ({reason}). Resume it anyway?"
        if self._ui.interactive:
            if self._ui.confirm(question):
                return
            raise InvalidInput(
                f"Did not resume {session.session_id}: it belongs to an agent ({reason}).",
                hint="Start your own session with `claude`, or pass --force to resume it anyway.",
            )
        raise InvalidInput(
            f"Refusing to resume {session.session_id} without asking: it belongs to an agent "
            f"({reason}) and there is no terminal to ask on.",
            hint="Pass --force to resume it anyway.",
        )

    def _staleness(self, session: PickedSession, request: ResumeRequest) -> list[str]:
        warnings: list[str] = []
        if self._coordinator is not None:
            newer = self._coordinator.newer_elsewhere(session)
            if newer is not None:
                warnings.append(newer)
        stale = self._stale(session, request)
        if stale is not None:
            warnings.append(stale)
        return warnings

    def _stale(self, session: PickedSession, request: ResumeRequest) -> str | None:
        with suppress(OSError):
            age = self._clock() - session.path.stat().st_mtime
            if age > request.stale_after_s:
                days, rest = divmod(int(age), 86400)
                return f"Session {session.session_id} was last written {days}d {rest // 3600}h ago."
        return None

    def _warn(self, session: PickedSession, request: ResumeRequest, force: bool) -> list[str]:
        """Say the staleness warnings. On a terminal a session over a day old is a question
        instead, the bash version's: resume it, or start a new one (``StartNewInstead``)?"""
        warnings = self._staleness(session, request)
        ask = request.ask_stale and not force and session.chosen_by == "newest"
        ask = ask and self._ui.interactive
        stale = self._stale(session, request) if ask else None
        for warning in warnings:
            if warning != stale:
                self._ui.warn(warning)
        question = f"{stale} Resume it (n: start a new conversation instead)?"
        if stale is not None and not self._ui.confirm(question, default=True):
            raise StartNewInstead(session.session_id)
        return warnings

    def _acquire(
        self, coordinator: Coordinator, session: PickedSession, force: bool
    ) -> tuple[HeldLease, bool]:
        """The lease, and whether it was taken over. The machine that holds the session is off:
        on a terminal, ask whether to take it over rather than only refusing."""
        try:
            return coordinator.acquire(session, forced=force), force
        except HeldElsewhere as held:  # connected: on a terminal, offer to wait for it
            question = f"{held.message} Wait here and start the moment it is done?"
            if force or not self._ui.interactive or not self._ui.confirm(question, default=True):
                raise
            self._ui.info("Waiting; Ctrl-C stops waiting.")
            return coordinator.acquire(session, forced=False, wait=True), False
        except HolderOffline as offline:
            question = f"{offline.message} Take it over here (its later turns merge in later)?"
            if force or not self._ui.interactive or not self._ui.confirm(question):
                raise
        self._ui.warn(f"Taking session {session.session_id} over (recorded in the lease).")
        return coordinator.acquire(session, forced=True), True

    # -- the run ---------------------------------------------------------------------------
    def _release(
        self,
        session: PickedSession,
        lease: HeldLease | None,
        *,
        launched: bool,
        details: dict[str, object],
    ) -> None:
        with signals_blocked():  # the journal records while the release waits (issue 16)
            release_and_journal(
                self._journal,
                session,
                lease,
                launched=launched,
                details=details,
                warn=self._ui.warn,
            )

    def run(self, session: PickedSession, request: ResumeRequest) -> ResumeOutcome:
        """Check, lease, wait, merge, launch, release; returns claude's exit code."""
        force = request.force
        if force:
            self._ui.warn(
                "--force: skipping the namespace check and every wait, and taking the lease over "
                "even if another machine holds it. This is recorded in the journal and the lease."
            )
        else:
            self._check_namespace(session, request)
        if self._coordinator is None:
            self._ui.warn(request.local_warning)
        lease: HeldLease | None = None
        launched = False
        details: dict[str, object] = {"forced": force}
        merged = 0
        warnings: list[str] = []
        with terminations_raise():
            try:
                if self._coordinator is not None:
                    lease, force = self._acquire(self._coordinator, session, force)
                    details["forced"] = force
                    for note in getattr(lease, "notes", ()):
                        self._ui.info(note)
                    if not force:
                        self._coordinator.wait_in_sync(
                            session, timeout_s=request.sync_timeout_s, on_wait=self._ui.waiting
                        )
                merged = self._merge(session)
                if merged:
                    self._ui.info(f"Merged {merged} conflict copies of {session.session_id}.")
                warnings = self._warn(session, request, force)
                self._journal.record(session.path, "launch", session_id=session.session_id)
                self._journal.note(
                    session.session_id,
                    "launch",
                    forced=force,
                    leased=lease is not None,  # False: --no-lease, or a machine that does not sync
                    by="roam cr",
                )
                launched = True
                # engine.prompt_guard; a fork writes a new session, which nobody can take over,
                # and `-p PROMPT` submits its one prompt as it starts (takes_later_prompts)
                fork = "--fork-session" in request.claude_args
                guarded = not fork and takes_later_prompts(request.claude_args)
                guard = tuple(getattr(lease, "claude_args", ())) if guarded else ()
                result = self._launch(
                    claude_argv(
                        request.claude_bin, session.session_id, (*guard, *request.claude_args)
                    ),
                    {CR_SESSION_ENV: session.session_id},
                )
                details.update(exit_code=result.exit_code, signals=list(result.signals))
            except Terminated as stop:
                details.update(signals=[stop.signum], aborted=True)
                raise
            except KeyboardInterrupt:
                details.update(signals=[int(signal.SIGINT)], aborted=True)
                raise
            finally:
                self._release(session, lease, launched=launched, details=details)
        return ResumeOutcome(
            session=session,
            exit_code=result.exit_code,
            signals=result.signals,
            merged_copies=merged,
            warnings=tuple(warnings),
        )
