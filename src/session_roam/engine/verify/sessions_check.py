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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.conflicts.find import pending_sessions
from session_roam.engine.core.bounded import Skipped
from session_roam.engine.core.safefs import find_links
from session_roam.engine.core.store import list_all_sessions
from session_roam.engine.sessions.listing import summarize
from session_roam.engine.sessions.session_scan import ScannedSession
from session_roam.engine.sessions.summary_cache import Sample, cached_row, open_cache
from session_roam.engine.sessions.summary_list import from_row

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.core.store import SessionFiles
    from session_roam.engine.sessions.listing import SessionSummary
    from session_roam.engine.sessions.pathmap import PathMap

__all__ = ["NEWEST", "SAMPLE", "SAMPLE_BYTES", "SessionsRead", "read_sessions"]

log = logging.getLogger(__name__)

#: Unchanged sessions read again whole on each verify, the longest unread first: this many
#: at most, and no more bytes than ``SAMPLE_BYTES``, so that the sample fits verify's time at
#: 50,000 sessions (about 0.2 s); a file larger than what is left is left to ``--full``.
SAMPLE: Final = 1000
SAMPLE_BYTES: Final = 24 * 1000 * 1000
#: Sessions compared file by file with each peer (newest first): one REST call each.
NEWEST: Final = 200
_LAST_RUN: Final = "verify_last_run"


@dataclass(frozen=True, slots=True)
class SessionsRead:
    """The sessions as verify saw them. ``summaries`` holds the ones verify's checks look at
    (unreadable, one per recorded cwd; without the cache, all); ``unread`` counts records over
    the caps per file; ``total`` is every session."""

    summaries: tuple[SessionSummary, ...]
    unread: dict[Path, int]
    pending: tuple[SessionFiles, ...]
    total: int
    changed: int
    sampled: int
    full: bool
    sampled_bytes: int = 0
    #: The newest session files by mtime, newest first (``NEWEST`` at most).
    newest: tuple[Path, ...] = ()
    #: (project, session id, title) of every titled session.
    titles: tuple[tuple[str, str, str], ...] = ()
    #: Whether no live ``roam watch`` kept the cache current, so every file had to be stat'ed.
    walked: bool = True

    @property
    def coverage(self) -> str:
        """``checked 412 changed + 300 sampled (31 MB) of 50,000 sessions``."""
        if self.full:
            return f"checked all {self.total:,} sessions"
        read = f" ({_size(self.sampled_bytes)})" if self.sampled else ""
        return (
            f"checked {self.changed:,} changed + {self.sampled:,} sampled{read} of "
            f"{self.total:,} sessions"
        )


def _size(count: int) -> str:
    """``31 MB``, ``12 KB``: how much the sample read again."""
    if count >= 1_000_000:
        return f"{count / 1e6:,.0f} MB"
    return f"{max(1, round(count / 1e3)):,} KB"


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
    newest = sorted(((s.mtime, s.path) for s in summaries), reverse=True)[:NEWEST]
    return SessionsRead(
        tuple(summaries), unread, pending, len(summaries), 0, 0, full=True,
        newest=tuple(path for _mtime, path in newest),
        titles=tuple((s.project, s.session_id, s.title) for s in summaries if s.title),
    )  # fmt: skip


def read_sessions(
    projects: Path,
    pathmap: PathMap,
    *,
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
    links: list[str] | None = None,
) -> SessionsRead:
    """Read what changed, a sample of the rest (or everything with ``full``); see the module.

    One stat walk (none while a live watcher keeps the cache current) that also serves the
    synced-data check: ``links`` hears every symbolic link below the folder (walked for that
    alone when the watcher was trusted). The questions are then asked of the cache in SQL, and
    a summary is made only of the sessions a check looks at."""
    if not projects.is_dir():
        return SessionsRead((), {}, (), 0, 0, 0, full=full)
    try:
        with open_cache() as cache:
            last = float(cache.meta(_LAST_RUN) or 0.0)
            sample = None if full else Sample(SAMPLE, SAMPLE_BYTES, last)
            done = cache.sync(
                projects, trust=True, sample=sample, full=full, links=links, progress=progress
            )
            cache.set_meta(_LAST_RUN, repr(time.time()))  # what it read is covered
            found = cache.verify_rows(projects, NEWEST)
    except (sqlite3.Error, OSError) as exc:
        log.info("summary cache unavailable (%s): reading every session", exc)
        if links is not None:
            links[:] = [str(p) for p in find_links(projects)]
        return _read_all(projects, pathmap)
    if not done.walked and links is not None:  # a live watcher was trusted: links walked here
        links[:] = [str(p) for p in find_links(projects)]
    summaries = tuple(
        from_row(cached_row(_scanned(row, done.copies), row), projects, pathmap)
        for row in found.shown
    )
    unread = {Path(path): n for path, n in found.unread}
    suspects = {(p, s) for p, s in found.takeovers}
    suspects.update((Path(path).parent.name, Path(path).name[:-6]) for path in done.copies)
    suspects.update(done.copies_only)
    pending = tuple(
        files
        for project in sorted({p for p, _s in suspects})
        for files in pending_sessions(projects, projects / project)
        if (project, files.session_id) in suspects
    )
    changed = done.changed + done.recent
    newest = tuple(Path(path) for path in found.newest)
    return SessionsRead(
        summaries, unread, pending, done.total, changed, done.sampled, full, done.sampled_bytes,
        newest, tuple(found.titles), done.walked,
    )  # fmt: skip


def _scanned(row: tuple[Any, ...], copies: dict[str, int]) -> ScannedSession:
    """The walk's entry of a summary row (``COLUMNS``) the sync just made current."""
    path = str(row[0])
    return ScannedSession(
        row[3], row[2], path, row[4], row[5], row[6], row[20] or 0, copies.get(path, 0)
    )
