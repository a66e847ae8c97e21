"""What ``roam verify`` reads of the sessions, and how much of them: incremental by default.

Reading 50,000 session files on every verify costs seconds; the summary cache
(``engine.sessions.summary_cache``) already knows each file as of its last read, records over
the caps included. So verify covers what changed since its last run (files the cache finds
stale now, and those another command or ``roam watch`` read since), plus a rotating sample
of the rest read again whole (the files read longest ago first, ``SAMPLE`` a run), and says
how much that was. ``full`` reads every file again. A take-over fork is looked for only in a
transcript the cache saw a take-over row in, and conflict copies come from the stat walk.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from session_roam.engine.conflicts.find import pending_sessions
from session_roam.engine.core.bounded import Skipped
from session_roam.engine.core.store import list_all_sessions
from session_roam.engine.sessions.listing import summarize
from session_roam.engine.sessions.summary_cache import cached_row, oldest_first, open_cache
from session_roam.engine.sessions.summary_list import from_row

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from session_roam.engine.core.store import SessionFiles
    from session_roam.engine.sessions.listing import SessionSummary
    from session_roam.engine.sessions.pathmap import PathMap
    from session_roam.engine.sessions.session_scan import ScannedSession

__all__ = ["SAMPLE", "SAMPLE_BYTES", "SessionsRead", "read_sessions"]

log = logging.getLogger(__name__)

#: Unchanged sessions read again whole on each verify, the longest unread first: this many
#: at most, and no more bytes than ``SAMPLE_BYTES`` (a few huge sessions do not make it slow).
SAMPLE: Final = 1000
SAMPLE_BYTES: Final = 64 * 1024 * 1024
_LAST_RUN: Final = "verify_last_run"


class _Seen(NamedTuple):
    project: str
    session_id: str
    unread: int  # records over the caps
    suspect: bool  # conflict copies, or a take-over row (a fork may follow)
    summary: SessionSummary | None


@dataclass(frozen=True, slots=True)
class SessionsRead:
    """The sessions as verify saw them. ``summaries`` holds the ones verify's checks look at
    (titled, unreadable, one per recorded cwd); ``unread`` counts records over the caps per
    file; ``total`` is every session."""

    summaries: tuple[SessionSummary, ...]
    unread: dict[Path, int]
    pending: tuple[SessionFiles, ...]
    total: int
    changed: int
    sampled: int
    full: bool

    @property
    def coverage(self) -> str:
        """``checked 412 changed + 1,000 sampled of 50,000 sessions``."""
        if self.full:
            return f"checked all {self.total:,} sessions"
        return (
            f"checked {self.changed:,} changed + {self.sampled:,} sampled of "
            f"{self.total:,} sessions"
        )


def _read_all(projects: Path, pathmap: PathMap) -> SessionsRead:
    """Every file read whole, as before the cache (a cache folder that cannot be written)."""
    sessions = list_all_sessions(projects)
    unread: dict[Path, int] = {}
    summaries = []
    for files in sessions:
        skipped = Skipped()
        if files.main_exists and (s := summarize(files, pathmap, skipped)) is not None:
            summaries.append(s)
            if skipped.total:
                unread[files.main] = skipped.total
    pending = pending_sessions(projects)
    return SessionsRead(tuple(summaries), unread, pending, len(summaries), 0, 0, full=True)


def read_sessions(
    projects: Path,
    pathmap: PathMap,
    *,
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SessionsRead:
    """Read what changed, a sample of the rest (or everything with ``full``); see the module."""
    if not projects.is_dir():
        return SessionsRead((), {}, (), 0, 0, 0, full=full)
    try:
        with open_cache() as cache:
            last = float(cache.meta(_LAST_RUN) or 0.0)
            recent: set[str] = set()

            def reread(pairs: list[tuple[ScannedSession, tuple[object, ...] | None]]) -> set[str]:
                if full:
                    return {item.path for item, _row in pairs}
                recent.update(
                    i.path
                    for i, r in pairs
                    if r is not None and float(r[18]) >= last  # type: ignore[arg-type]
                )
                rest = {i.path: i.size for i, r in pairs if i.path not in recent}
                sample: set[str] = set()
                budget = SAMPLE_BYTES
                for path in oldest_first(((i, r) for i, r in pairs if i.path in rest), SAMPLE):
                    if len(sample) >= SAMPLE or budget <= 0:
                        break
                    sample.add(path)
                    budget -= rest[path]
                return sample

            cwds: set[str | None] = set()

            def build(item: ScannedSession, row: tuple[Any, ...]) -> _Seen | None:
                # Whole summaries only of the sessions verify's checks look at: titled ones
                # (namespaces), unreadable ones, one per recorded cwd. Not 50,000 of them;
                # None for a session none of the checks looks at.
                keep = bool(row[10] or row[17]) or row[9] not in cwds
                cwds.add(row[9])
                summary = from_row(cached_row(item, row), projects, pathmap) if keep else None
                suspect = bool(item.conflict_copies or row[19])
                unread = row[15] + row[16]
                if summary is None and not suspect and not unread:
                    return None
                return _Seen(item.project, item.session_id, unread, suspect, summary)

            done = cache.refresh(
                projects, reread=reread, progress=progress, build=build, trust=True
            )
            cache.set_meta(_LAST_RUN, repr(time.time()))  # what it read is covered
    except (sqlite3.Error, OSError) as exc:
        log.info("summary cache unavailable (%s): reading every session", exc)
        return _read_all(projects, pathmap)
    rows: list[_Seen] = [r for r in done.rows if r is not None]
    summaries = tuple(r.summary for r in rows if r.summary is not None)
    unread = {projects / r.project / f"{r.session_id}.jsonl": r.unread for r in rows if r.unread}
    suspects = {(r.project, r.session_id) for r in rows if r.suspect}
    suspects.update(done.copies_only)
    pending = tuple(
        files
        for project in sorted({p for p, _s in suspects})
        for files in pending_sessions(projects, projects / project)
        if (project, files.session_id) in suspects
    )
    changed = done.changed + len(recent)
    return SessionsRead(summaries, unread, pending, done.total, changed, done.sampled, full)
