"""This machine's summary of every session, in a small sqlite cache that is never trusted blindly.

``$XDG_CACHE_HOME/session-roam/summaries.sqlite`` holds one row per session file: what ``roam
ls`` shows of it (cwd, title, first and last prompt, newest timestamp, turns, records over the
caps) and what it was read from (size, mtime_ns, inode, how far the complete lines went, a crc
of the 4 KB before that). Every reader first walks the folder (``session_scan``: stat only) and
re-reads just the files whose (size, mtime_ns, inode) moved; an appended file is read from its
old end when the bytes before it are unchanged. A reader that passes ``trust=True`` skips the
walk while a live ``roam watch`` keeps the cache current (``summary_fresh``). It is a cache:
deleted or unreadable, it is built again; it never leaves this machine.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.atomic import atomic_write
from session_roam.engine.core.cachedb import CacheDb
from session_roam.engine.sessions.session_scan import ScannedSession, scan_sessions
from session_roam.engine.sessions.summary_fresh import (
    cached_counts,
    cached_scan,
    freshness,
    record_walk,
    scope,
)
from session_roam.engine.sessions.summary_read import Fold, read_into, tail_hash, unreadable_why
from session_roam.engine.sessions.summary_sync import (
    COLUMNS,
    STAT_INDEX,
    Sample,
    Synced,
    VerifyRows,
    sync,
    verify_rows,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from session_roam.engine.sessions.search_fresh import Freshness

__all__ = [
    "STREAM_COLUMNS",
    "CachedRow",
    "Refresh",
    "Sample",
    "SummaryCache",
    "Synced",
    "VerifyRows",
    "cache_path",
    "cached_row",
    "open_cache",
    "untrusted_path",
    "withdraw_trust",
]

SCHEMA_VERSION: Final = 6
#: The page cache of ``stream``'s query (KiB): its rows, read in time order, are all over the
#: file, and through sqlite's default 2 MB cache each page would be read again for each of
#: its rows (twice the time at 50,000 sessions). Memory-mapping the file does as well, but
#: maps most of it into the process (its whole size counted in ``roam ls``'s memory).
_STREAM_CACHE_KIB: Final = 40_000
_COLUMNS: Final = COLUMNS
_SCHEMA: Final = f"""
CREATE TABLE summary (
    path TEXT PRIMARY KEY, root TEXT NOT NULL, project TEXT NOT NULL, session_id TEXT NOT NULL,
    size INTEGER, mtime_ns INTEGER, ino INTEGER, parsed_to INTEGER, tail INTEGER,
    cwd TEXT, title TEXT, first_prompt TEXT, last_prompt TEXT, last_activity TEXT,
    turns INTEGER, too_long INTEGER, too_deep INTEGER, unreadable TEXT, checked REAL,
    takeover INTEGER, ctime_ns INTEGER
);
CREATE INDEX summary_root ON summary (root);
CREATE INDEX summary_session ON summary (session_id);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
-- {_COLUMNS}
"""
#: From schema 4 (the rows stay: upgrading does not read 50,000 sessions again); a process
#: that opens it at the same time may run it too.
_SCHEMA_5: Final = """
CREATE INDEX IF NOT EXISTS summary_time ON summary (root, coalesce(last_activity, ''), mtime_ns);
CREATE TABLE IF NOT EXISTS copies (
    path TEXT PRIMARY KEY, root TEXT NOT NULL, project TEXT NOT NULL, session_id TEXT NOT NULL,
    copies INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS copies_root ON copies (root);
"""
_INSERT: Final = f"INSERT OR REPLACE INTO summary ({_COLUMNS}) VALUES ({','.join('?' * 21)})"  # noqa: S608


#: What ``SummaryCache.stream`` answers per row, in this order.
STREAM_COLUMNS: Final = (
    "session_id, project, path, size, mtime_ns, cwd, title, first_prompt, last_prompt, "
    "last_activity, turns, unreadable"
)
_ORDERS: Final = {
    "time": "coalesce(last_activity, '') DESC, mtime_ns DESC",
    "size": "size DESC",
    "project": "coalesce(cwd, project), coalesce(last_activity, '') DESC, mtime_ns DESC",
}


@dataclass(frozen=True, slots=True)
class CachedRow:
    """One session as the cache holds it, current with the walk that returned it."""

    session_id: str
    project: str
    path: str
    size: int
    mtime_ns: int
    cwd: str | None
    title: str | None
    first_prompt: str | None
    last_prompt: str | None
    last_activity: str | None
    turns: int
    too_long: int
    too_deep: int
    unreadable: str | None
    conflict_copies: int
    checked: float
    takeover: bool


@dataclass(frozen=True, slots=True)
class Refresh:
    """What one refresh found: every session, and how many files it had to read."""

    rows: list[Any]  # CachedRow, or what the caller's ``build`` made
    total: int
    changed: int
    appended: int
    sampled: int = 0
    #: Sessions whose main file is gone, only conflict copies left: (project, session id).
    copies_only: tuple[tuple[str, str], ...] = ()


class SummaryCache(CacheDb):
    """One open summary database (``open_cache``); ``refresh`` brings a projects folder's rows
    up to date and answers them."""

    what = "summary cache"
    schema_version = SCHEMA_VERSION

    def _migrate(self, db: sqlite3.Connection, version: int, fresh: bool) -> None:
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if (version != 0 or tables) and version not in (4, 5):
            raise sqlite3.DatabaseError(f"summary cache schema {version}")
        db.executescript(("" if version else _SCHEMA) + _SCHEMA_5 + STAT_INDEX)

    def paths_of(self, session_id: str) -> list[str]:
        """The files the cache last saw for ``session_id`` (not checked: stat them)."""
        found = self._db.execute("SELECT path FROM summary WHERE session_id = ?", (session_id,))
        return [str(row[0]) for row in found]

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def freshness(self) -> Freshness:
        """Whether a live ``roam watch`` keeps this cache current (``search_fresh``)."""
        return freshness(self._db)

    def refresh(
        self,
        projects_root: Path,
        projects: tuple[str, ...] | None = None,
        *,
        reread: Callable[[list[tuple[ScannedSession, tuple[object, ...] | None]]], set[str]]
        | None = None,
        progress: Callable[[int, int], None] | None = None,
        build: Callable[[ScannedSession, tuple[Any, ...]], Any] | None = None,
        trust: bool = False,
        watcher: bool = False,
    ) -> Refresh:
        """The rows of every session below ``projects_root`` (or the named project folders),
        after re-reading the files that changed since the cache last saw them.

        ``reread`` picks, among the unchanged (session, row) pairs, the paths to read again
        whole all the same (``roam verify``'s sample; all of them for ``verify --full``).
        ``build`` makes each answered row from the walk's entry and the stored columns
        (``CachedRow`` by default): a caller that wants its own objects makes them directly,
        which at 50,000 sessions saves a copy of everything. ``trust`` skips the walk while a
        live watcher keeps the cache current; ``watcher`` records the caller as that watcher
        (``roam watch``, refreshing what it saw change).
        """
        make = build or cached_row
        root = str(projects_root)
        # no walk while a live watcher keeps the cache current: the sessions as it saw them
        started = None if trust and self.kept_fresh(root) else time.time()
        scanned = [] if started is None else scan_sessions(root, projects)
        where, args = scope(root, projects)
        query = f"SELECT {_COLUMNS} FROM summary WHERE {where}"  # noqa: S608 (constants)
        known = {row[0]: row for row in self._db.execute(query, args)}
        if started is None:
            as_seen = (r[0:1] + r[2:7] + r[20:21] for r in known.values())
            scanned = cached_scan(self._db, root, projects, as_seen)
        stale: list[tuple[ScannedSession, tuple[object, ...] | None]] = []
        fresh: list[tuple[ScannedSession, tuple[object, ...]]] = []
        for item in scanned:
            if not item.main_exists:
                continue
            row = known.get(item.path)
            # ctime too: a chmod (an unreadable file made readable, or the reverse) moves only it
            same = row is not None and row[4:7] == (item.size, item.mtime_ns, item.ino)
            if same and row is not None and row[20] == item.ctime_ns and not row[17]:
                fresh.append((item, row))
            else:
                stale.append((item, row))
        forced = reread([(i, r) for i, r in fresh]) if reread is not None else set()
        if forced:
            stale += [(i, None) for i, r in fresh if i.path in forced]
            fresh = [(i, r) for i, r in fresh if i.path not in forced]
        rows = [make(item, row) for item, row in fresh]
        del fresh
        appended = 0
        self._db.execute("BEGIN")
        try:
            for done, (item, row) in enumerate(stale):
                if progress is not None:
                    progress(done, len(stale))
                new, resumed = self._read(root, item, row)
                appended += resumed
                rows.append(make(item, new))
            seen = {item.path for item in scanned}
            since = started or 0.0  # not a row another process wrote after this walk began
            gone = [(p,) for p, row in known.items() if p not in seen and row[18] < since]
            self._db.executemany("DELETE FROM summary WHERE path = ?", gone)
            record_walk(self._db, root, projects, scanned, started, watcher=watcher)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        changed = len(stale) - len(forced)
        orphans = tuple((i.project, i.session_id) for i in scanned if not i.main_exists)
        return Refresh(rows, len(rows), changed, appended, len(forced), orphans)

    def stream(
        self,
        projects_root: Path,
        projects: tuple[str, ...] | None = None,
        *,
        order: str = "time",
        trust: bool = False,
    ) -> tuple[int, dict[str, int], Iterator[tuple[Any, ...]]]:
        """Bring the cache up to date with one stat walk (none with ``trust`` while a live
        watcher keeps it current), then answer its rows in ``order`` straight from sqlite, one
        at a time: (how many, conflict copies by path, the rows).

        For ``roam ls --all``: nothing holds 50,000 rows at once. Each row is ``STREAM_COLUMNS``.
        """
        root = str(projects_root)
        done = self.sync(projects_root, projects, trust=trust)
        where, args = scope(root, projects)
        self._db.execute(f"PRAGMA cache_size = -{_STREAM_CACHE_KIB}")
        query = f"SELECT {STREAM_COLUMNS} FROM summary WHERE {where} ORDER BY {_ORDERS[order]}"  # noqa: S608
        return done.total, done.copies, iter(self._db.execute(query, args))

    def sync(
        self,
        projects_root: Path,
        projects: tuple[str, ...] | None = None,
        *,
        trust: bool = False,
        sample: Sample | None = None,
        full: bool = False,
        links: list[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Synced:
        """Bring the rows up to date (``summary_sync``) without answering them: the caller
        asks the cache in SQL what it wants to know."""
        root = str(projects_root)
        trusted = trust and self.kept_fresh(root)
        return sync(
            self._db, self._read, root, projects, trusted=trusted, sample=sample, full=full,
            links=links, progress=progress,
        )  # fmt: skip

    def conflict_copies(self, projects_root: Path) -> int:
        """The sessions' conflict copies below ``projects_root`` (what ``roam conflicts list``
        shows): from the cache while a live watcher keeps it current, else from one stat walk
        (no file read: ``roam status`` answers at once, whatever changed)."""
        root = str(projects_root)
        if self.kept_fresh(root):
            return sum(cached_counts(self._db, *scope(root, None))[1].values())
        return sum(item.conflict_copies for item in scan_sessions(root))

    def verify_rows(self, projects_root: Path, newest: int = 200) -> VerifyRows:
        """The rows ``roam verify``'s checks look at (after a ``sync``)."""
        return verify_rows(self._db, str(projects_root), newest)

    def kept_fresh(self, root: str) -> bool:
        """Whether a reader may skip its walk: a live watcher keeps the rows current, and its
        last refresh did not fail (``withdraw_trust``)."""
        untrusted = os.path.lexists(untrusted_path(self.db_path))
        return not untrusted and self.freshness.kept_fresh(root)

    def withdraw_trust(self) -> None:
        """``withdraw_trust`` of this cache."""
        withdraw_trust(self.db_path)

    def restore_trust(self) -> None:
        """The watcher's refresh succeeded again: what it missed is in the cache."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(untrusted_path(self.db_path))

    def _read(
        self, root: str, item: ScannedSession, row: tuple[object, ...] | None
    ) -> tuple[tuple[object, ...], bool]:
        """Read one changed file (from its old end when only appended) and store its row."""
        unreadable = unreadable_why(item.path)
        fold = Fold()
        offset = 0
        if (
            row is not None
            and not unreadable
            and row[6] == item.ino
            and isinstance(row[7], int)
            and 0 < row[7] <= item.size
            and row[8] is not None
            and tail_hash(item.path, row[7]) == row[8]
        ):
            offset = row[7]
            fold.cwd, fold.title, fold.first, fold.last, fold.latest = row[9:14]  # type: ignore[assignment]
            fold.turns = int(row[14])  # type: ignore[call-overload]
            fold.skipped.too_long = int(row[15])  # type: ignore[call-overload]
            fold.skipped.too_deep = int(row[16])  # type: ignore[call-overload]
            fold.takeover = bool(row[19])
        end, tail, seen = (offset, None, fold) if unreadable else read_into(item.path, fold, offset)
        if seen is not fold:
            end, tail = 0, None  # a line still being written: read from the start next time
        new = (
            item.path, root, item.project, item.session_id, item.size, item.mtime_ns, item.ino,
            end, tail, seen.cwd, seen.title, seen.first, seen.last, seen.latest, seen.turns,
            seen.skipped.too_long, seen.skipped.too_deep, unreadable, time.time(), seen.takeover,
            item.ctime_ns,
        )  # fmt: skip
        self._db.execute(_INSERT, new)
        return new, offset > 0


def cached_row(item: ScannedSession, row: tuple[Any, ...]) -> CachedRow:
    return CachedRow(
        item.session_id,
        item.project,
        item.path,
        item.size,
        item.mtime_ns,
        row[9],
        row[10],
        row[11],
        row[12],
        row[13],
        row[14],
        row[15],
        row[16],
        row[17],
        item.conflict_copies,
        row[18],
        bool(row[19]),
    )


def cache_path() -> Path:
    """Where this machine's summary cache is, in roam's cache folder."""
    from session_roam.engine.core import xdg

    return xdg.cache_dir() / "summaries.sqlite"


def open_cache() -> SummaryCache:
    """This machine's summary cache, in roam's cache folder."""
    return SummaryCache(cache_path())


def untrusted_path(db_path: Path) -> Path:
    """A file whose presence says: no reader trusts a watcher of the cache at ``db_path``."""
    return db_path.with_name(db_path.name + ".untrusted")


def withdraw_trust(db_path: Path | None = None) -> None:
    """A watcher's refresh failed (the database busy or broken): until ``restore_trust`` every
    reader of the cache at ``db_path`` (this machine's by default) walks. A file beside the
    database, not a row in it: a database that cannot be written is the usual reason."""
    path = untrusted_path(db_path or cache_path())
    try:
        atomic_write(path, b"a watcher's summary refresh failed: readers walk\n")
    except OSError:  # a full disk or quota refuses the temp file too: an empty file needs no data
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
