"""What ``roam hooks run session-start|session-end`` does when Claude Code calls it.

Claude Code runs a hook command with one JSON object on stdin (``session_id``,
``transcript_path``, ``cwd``, ``source`` or ``reason``). A hook must never hang claude and never
stop it: stdin is read with a deadline (a ``cat`` that never saw EOF is a known way to get every
hook cancelled), every failure becomes a warning on stderr, and the exit status is always 0.

On start the session is journaled (checkpoint) and the lease is claimed; if another node holds
it the warning is loud, because this claude is about to write a session someone else is writing.
On end the new lines are journaled and the lease is released with a stamp. SessionEnd does not
come after a kill, so the claim made at start is kept alive by a small keeper process that
watches claude's pid and releases when claude is gone (``Keeper``); ``session-end`` just asks
the keeper to finish. When ``roam cr`` launched this claude (``ROAM_CR_SESSION`` names the
session in the environment) roam already holds the lease and journals the run, so the hook
steps aside for that session.
"""

from __future__ import annotations

import json
import logging
import os
import select
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, Protocol

from session_roam.engine.core.paths import validate_session_id
from session_roam.errors import InvalidInput, RoamError

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.sessions.journal import Journal

__all__ = [
    "CR_SESSION_ENV",
    "HookPayload",
    "HookRunner",
    "LeaseKeeper",
    "parse_payload",
    "read_stdin_payload",
    "refresh_summary",
]

log = logging.getLogger(__name__)

#: Set by ``roam cr`` in claude's environment: the session roam already leases and journals.
CR_SESSION_ENV: Final = "ROAM_CR_SESSION"
_READ_DEADLINE_S: Final = 2.0
_MAX_PAYLOAD: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class HookPayload:
    """The fields roam uses from a SessionStart/SessionEnd payload."""

    session_id: str
    transcript_path: Path
    cwd: str
    source: str = ""
    reason: str = ""


def read_stdin_payload(stream: IO[bytes], *, deadline_s: float = _READ_DEADLINE_S) -> bytes:
    """Read stdin until EOF, but never wait past the deadline (nor read a terminal at all)."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # an in-memory stream (tests): it cannot block
        return stream.read(_MAX_PAYLOAD)
    if os.isatty(fd):
        return b""
    chunks: list[bytes] = []
    size = 0
    end = time.monotonic() + deadline_s
    while size < _MAX_PAYLOAD:
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_payload(raw: bytes) -> HookPayload:
    """The payload, or InvalidInput saying what is missing."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidInput("The hook payload on stdin is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidInput("The hook payload on stdin is not a JSON object.")
    session_id = data.get("session_id")
    transcript = data.get("transcript_path")
    if not isinstance(session_id, str) or not isinstance(transcript, str) or not transcript:
        raise InvalidInput("The hook payload has no session_id or transcript_path.")
    return HookPayload(
        session_id=validate_session_id(session_id),
        transcript_path=Path(transcript),
        cwd=str(data.get("cwd", "")),
        source=str(data.get("source", "")),
        reason=str(data.get("reason", "")),
    )


class LeaseKeeper(Protocol):
    """How the hooks claim and let go of a lease (the real one is wired in the CLI)."""

    def claim(self, payload: HookPayload, claude_pid: int) -> str | None:
        """Claim the lease for claude's run; return a warning sentence if another node holds it."""
        ...

    def release(self, payload: HookPayload) -> None: ...


class HookRunner:
    """Runs one hook event; every error ends as a warning, never as a failed hook."""

    def __init__(
        self,
        *,
        journal: Journal,
        keeper: LeaseKeeper | None,
        warn: Callable[[str], None],
        environ: dict[str, str] | None = None,
    ) -> None:
        self._journal = journal
        self._keeper = keeper
        self._warn = warn
        self._environ = dict(os.environ) if environ is None else environ

    def _managed_by_cr(self, payload: HookPayload) -> bool:
        return self._environ.get(CR_SESSION_ENV, "").lower() == payload.session_id

    def session_start(self, payload: HookPayload, *, claude_pid: int) -> None:
        if self._managed_by_cr(payload):
            return
        try:
            self._journal.record(payload.transcript_path, "launch", session_id=payload.session_id)
            self._journal.note(payload.session_id, "launch", by="hook", source=payload.source)
        except (OSError, RoamError) as exc:
            self._warn(f"roam could not journal session {payload.session_id}: {exc}")
        if self._keeper is None:
            self._warn(
                "roam: no Syncthing is configured here, so this session is not protected "
                "against a second writer on another machine."
            )
            return
        try:
            held_elsewhere = self._keeper.claim(payload, claude_pid)
        except RoamError as exc:
            self._warn(f"roam could not take the lease on {payload.session_id}: {exc.message}")
            return
        if held_elsewhere:
            self._warn(held_elsewhere)

    def session_end(self, payload: HookPayload) -> None:
        refresh_summary(payload.transcript_path)
        if self._managed_by_cr(payload):
            return
        try:
            self._journal.record(payload.transcript_path, "release", session_id=payload.session_id)
            self._journal.note(payload.session_id, "release", by="hook", reason=payload.reason)
        except (OSError, RoamError) as exc:
            self._warn(f"roam could not journal session {payload.session_id}: {exc}")
        if self._keeper is None:
            return
        try:
            self._keeper.release(payload)
        except RoamError as exc:
            self._warn(f"roam could not release the lease on {payload.session_id}: {exc.message}")


def refresh_summary(transcript: Path) -> None:
    """Bring the summary cache's rows of the transcript's project folder up to date, so the
    next ``roam ls`` finds nothing stale (a cache: best effort, never a hook failure)."""
    import sqlite3

    from session_roam.engine.sessions.summary_cache import open_cache

    try:
        with open_cache() as cache:
            cache.refresh(transcript.parent.parent, (transcript.parent.name,))
    except (sqlite3.Error, OSError, RoamError) as exc:
        log.info("summary cache not refreshed: %s", exc)
