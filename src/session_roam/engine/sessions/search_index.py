"""The incremental full-text index behind ``roam cf``: SQLite FTS5 in roam's cache folder.

Why an index: ``grep`` over ``~/.claude/projects`` reads every byte of every session each time;
the index reads each byte once. Session files are append-only while Claude Code writes them, so
a refresh reads only the bytes past the offset it indexed last. Two cheap checks catch a file
that was *rewritten* instead (a merge of conflict copies, a fork, a restore): the file is
shorter than the indexed offset, or a hash of its first 4 KB or of the 4 KB just before the
offset changed. Such a file is dropped from the index and read again whole. A file that is gone
is dropped, so a query can never return a stale hit for a deleted session.

The database lives in the XDG cache (never the synced folder: each machine builds its own, and
Syncthing must not ship a database between machines). It can always be rebuilt, so a corrupt or
outdated one is deleted and built again rather than reported.

Only the standard library is imported: this module is on ``roam cf --json``'s start-up path.
For the same reason its data types are immutable ``NamedTuple``s rather than frozen dataclasses:
importing ``dataclasses`` (which imports ``inspect``) costs about 20 ms of a 60 ms budget.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from session_roam.engine.core.boot import boot_id
from session_roam.engine.core.cachedb import CacheDb
from session_roam.engine.core.safefs import LinkRefused, open_nofollow
from session_roam.engine.sessions.search_extract import WINDOW, Extract, extracted, window_hash
from session_roam.engine.sessions.search_fresh import Freshness, process_start
from session_roam.engine.sessions.search_query import INDEX_NAME, SCHEMA_VERSION
from session_roam.engine.sessions.search_scan import (
    Disk,
    disk_of,
    record_text,
    scan_session_files,
)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "INDEX_NAME",
    "SCHEMA_VERSION",
    "IndexStats",
    "SearchIndex",
    "record_text",
    "scan_session_files",
]

_COMMIT_BYTES: Final = 256 * 1024 * 1024
_UNSYNCED_BYTES = 32 * 1024 * 1024  # a first build this large skips fsync until it is done
_BUILDING: Final = "building"  # state key: "<boot id>\t<pid>\t<start ticks>" of such a build

# FTS5 keeps a transaction's new terms in memory up to ``hashsize`` before it writes them as
# a segment (default 1 MB), and merges segments as they pile up: at 64 MB a first build of
# 1 GB writes and merges far fewer segments, ~35 % less CPU in FTS5 (bench/search). A small
# refresh never fills it: its memory is what it inserts. The index's content is the same.
_SCHEMA: Final = """
CREATE TABLE files(
    id INTEGER PRIMARY KEY,
    path TEXT UNIQUE NOT NULL,
    project TEXT NOT NULL,
    session_id TEXT NOT NULL,
    cwd TEXT,
    title TEXT,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    indexed_to INTEGER NOT NULL,
    head_hash BLOB NOT NULL,
    tail_hash BLOB NOT NULL
);
CREATE TABLE rows(id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, ts TEXT NOT NULL, role TEXT);
CREATE INDEX rows_by_file ON rows(file_id);
CREATE VIRTUAL TABLE chunks USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO chunks(chunks, rank) VALUES('hashsize', 67108864);
CREATE TABLE state(key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

Progress = Callable[[int, int], None]


class IndexStats(NamedTuple):
    """What one refresh did: files (re)read and bytes parsed, for the progress bar and bench."""

    files_seen: int
    files_indexed: int
    files_rewritten: int
    files_removed: int
    bytes_read: int
    unreadable: tuple[str, ...] = ()  # paths that could not be opened (not links): not searched


def _builder() -> str:
    """This process as an unsynced build's mark names it: boot, pid, start; "" unknowable."""
    start = process_start(os.getpid())
    boot = boot_id()
    return f"{boot}\t{os.getpid()}\t{start}" if boot and start else ""


def _fsync(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _Overtaken(Exception):
    """Another process wrote to the index between two transactions of this refresh."""


def _read_range(path: str, start: int, end: int) -> bytes:
    with os.fdopen(open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
        handle.seek(start)
        return handle.read(end - start)


class SearchIndex(CacheDb):
    """One open index database; ``refresh`` brings it up to date with the projects folder."""

    what = "search index"
    schema_version = SCHEMA_VERSION
    # FTS5's segments and the stored text span a quarter of the pages: a first build's writer
    # spends ~0.6 s less CPU per GB in its commits (bench/search). Queries read the same rows.
    page_size = 16384
    _version: int | None = None  # PRAGMA data_version at this refresh's last BEGIN
    _unsynced = False

    def _check(self, db: sqlite3.Connection) -> None:
        """An unsynced first build (``_go_unsynced``) that is not running any more, or that
        ran before a restart, may have left pages that never reached the disk: built anew."""
        row = db.execute("SELECT value FROM state WHERE key = ?", (_BUILDING,)).fetchone()
        if row is None:
            return
        boot, pid, start = ([*str(row[0]).split("\t"), "", ""])[:3]
        alive = pid.isdigit() and process_start(int(pid)) == start
        if not (boot and boot == boot_id() and alive):
            raise sqlite3.DatabaseError("a first build was cut short")

    def _migrate(self, db: sqlite3.Connection, version: int, fresh: bool) -> None:
        if not fresh and version != 0:
            raise sqlite3.DatabaseError(f"index schema {version}")
        if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise sqlite3.DatabaseError("unknown index layout")
        db.executescript(_SCHEMA)

    def rebuild(self) -> None:
        self.discard()
        self._db = self._connect()

    @property
    def freshness(self) -> Freshness:
        return Freshness(self._db)

    @property
    def db(self) -> sqlite3.Connection:
        return self._db

    def _forget(self, file_id: int) -> None:
        self._db.execute(
            "DELETE FROM chunks WHERE rowid IN (SELECT id FROM rows WHERE file_id = ?)", (file_id,)
        )
        self._db.execute("DELETE FROM rows WHERE file_id = ?", (file_id,))

    def _still_appending(self, disk: Disk, row: tuple[Any, ...]) -> bool:
        """True when the file still starts with the bytes indexed so far (append-only)."""
        indexed_to, head_hash, tail_hash = row[3], row[4], row[5]
        if disk.size < indexed_to:
            return False
        try:
            head = _read_range(disk.path, 0, min(WINDOW, indexed_to))
            tail = _read_range(disk.path, max(0, indexed_to - WINDOW), indexed_to)
        except (OSError, LinkRefused):  # swapped for a link since the scan: read again whole
            return False
        return bool(window_hash(head) == head_hash and window_hash(tail) == tail_hash)

    def _store(self, disk: Disk, row: tuple[Any, ...] | None, start: int, found: Extract) -> int:
        """Insert what ``extract`` found in ``disk`` past ``start``; answers the bytes read."""
        if row is None:
            cursor = self._db.execute(
                "INSERT INTO files(path, project, session_id, size, mtime_ns, indexed_to,"
                " head_hash, tail_hash) VALUES (?, ?, ?, 0, 0, 0, x'', x'')",
                (disk.path, disk.project, disk.session_id),
            )
            file_id = int(cursor.lastrowid or 0)
        else:
            file_id = int(row[0])
        if found.rows:  # one statement per table and file: the rows' ids are ours to give
            first = self._next_row + 1
            self._next_row += len(found.rows)
            self._db.executemany(
                "INSERT INTO rows(id, file_id, ts, role) VALUES (?, ?, ?, ?)",
                [(first + n, file_id, item[0], item[1]) for n, item in enumerate(found.rows)],
            )
            self._db.executemany(
                "INSERT INTO chunks(rowid, text) VALUES (?, ?)",
                [(first + n, item[2]) for n, item in enumerate(found.rows)],
            )
        self._db.execute(
            "UPDATE files SET size = ?, mtime_ns = ?, indexed_to = ?, head_hash = ?,"
            " tail_hash = ?, cwd = coalesce(cwd, ?), title = coalesce(?, title) WHERE id = ?",
            (
                disk.size,
                disk.mtime_ns,
                found.end,
                found.head_hash,
                found.tail_hash,
                found.cwd,
                found.title,
                file_id,
            ),
        )
        return found.end - start

    def _begin(self) -> None:
        """Take the write lock; the rows' ids this refresh gives follow the highest one there.
        ``_Overtaken`` (with the lock held) when another process wrote since the last one."""
        self._db.execute("BEGIN IMMEDIATE")
        self._next_row = int(
            self._db.execute("SELECT coalesce(max(id), 0) FROM rows").fetchone()[0]
        )
        version, self._version = (
            self._version,
            self._db.execute("PRAGMA data_version").fetchone()[0],
        )
        if version is not None and version != self._version:
            raise _Overtaken

    def _write(self, work: Callable[[], IndexStats]) -> IndexStats:
        """``work`` in one write transaction taken up front, so two ``roam cf`` running at once
        index each appended byte once: the second waits, then finds nothing to do."""
        self._version, self._unsynced = None, False
        self._begin()
        try:
            while True:
                try:
                    stats = work()
                    break
                except _Overtaken:  # what it knew of the files is stale: again, still locked
                    continue
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            with contextlib.suppress(sqlite3.Error):  # the mark stays: this build is cut short
                self._db.execute("PRAGMA synchronous = NORMAL")
            raise
        self._db.execute("COMMIT")
        if self._unsynced:
            self._synced()
        return stats

    def _go_unsynced(self, total: int) -> None:
        """A first build of ``_UNSYNCED_BYTES`` or more writes with no fsync until it is done
        (``_synced``): fsync waits cost ~2.5 s of a 12 s build on a busy disk (bench/search).
        The state row ``building`` names the build (boot, pid, start), durable before any
        unsynced page: an index opened with it while that process is gone, or after a restart,
        is thrown away and built anew (``_check``), never trusted half-written."""
        if self._unsynced or total < _UNSYNCED_BYTES:
            return
        builder = _builder()
        if not builder or self._db.execute("SELECT 1 FROM files LIMIT 1").fetchone():
            return
        self._db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (_BUILDING, builder))
        self._db.execute("COMMIT")
        _fsync(f"{self.db_path}-wal")
        self._db.execute("PRAGMA synchronous = OFF")
        self._unsynced = True
        self._begin()

    def _synced(self) -> None:
        """The end of an unsynced build: all it wrote on disk, then its mark gone, durably (if
        another writer holds the lock past the timeout the mark stays: a needless rebuild)."""
        _fsync(str(self.db_path))
        _fsync(f"{self.db_path}-wal")
        self._unsynced = False
        self._db.execute("PRAGMA synchronous = FULL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM state WHERE key = ?", (_BUILDING,))
            self._db.execute("COMMIT")
        except sqlite3.OperationalError:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        self._db.execute("PRAGMA synchronous = NORMAL")

    def refresh(self, projects_root: Path, progress: Progress | None = None) -> IndexStats:
        """Bring the index up to date: new bytes read, rewritten files re-read, deleted dropped."""
        return self._write(lambda: self._refresh(projects_root, progress))

    def refresh_paths(self, projects_root: Path, paths: Iterable[Path]) -> IndexStats:
        """Bring just ``paths`` up to date (what ``roam watch`` saw change), with no walk."""
        return self._write(lambda: self._refresh_paths(projects_root, paths))

    def _known(self) -> dict[str, tuple[Any, ...]]:
        return {
            row[0]: row[1:]
            for row in self._db.execute(
                "SELECT path, id, size, mtime_ns, indexed_to, head_hash, tail_hash FROM files"
            )
        }

    def _refresh(self, projects_root: Path, progress: Progress | None) -> IndexStats:
        walked = time.time()
        rows = self._known()
        known = {path: (row[1], row[2]) for path, row in rows.items()}
        changed, seen = scan_session_files(projects_root, known)
        gone = [rows[path][0] for path in known]  # what the scan did not find
        stats = self._apply(changed, gone, rows, progress)
        self.freshness.walked(str(projects_root), walked)
        return stats._replace(files_seen=seen)

    def _refresh_paths(self, projects_root: Path, paths: Iterable[Path]) -> IndexStats:
        rows = self._known()
        changed: list[Disk] = []
        gone: list[int] = []
        for path in sorted({str(p) for p in paths}):
            found = disk_of(projects_root, path)
            if found is not None:
                if rows.get(found.path, (0, -1, -1))[1:3] != (found.size, found.mtime_ns):
                    changed.append(found)
            elif path in rows:
                gone.append(rows[path][0])
        stats = self._apply(changed, gone, rows, None)
        self.freshness.watched(str(projects_root), time.time())
        return stats

    def _apply(
        self,
        changed: list[Disk],
        gone: list[int],
        rows: dict[str, tuple[Any, ...]],
        progress: Progress | None,
    ) -> IndexStats:
        # Oldest first: "newest first" in a query follows row ids, so on a first build (or a
        # rebuild) they must follow time, not the order a directory happens to list its files.
        work = [(item, rows.get(item.path)) for item in sorted(changed, key=_by_mtime)]
        total = sum(item.size - (row[3] if row else 0) for item, row in work)
        self._go_unsynced(total)
        done = indexed = rewritten = 0
        for file_id in gone:
            self._forget(file_id)
            self._db.execute("DELETE FROM files WHERE id = ?", (file_id,))
        starts: list[int] = []
        for item, row in work:
            start = 0
            if row is not None:
                if self._still_appending(item, row):
                    start = int(row[3])
                else:
                    self._forget(int(row[0]))
                    self._db.execute(
                        "UPDATE files SET cwd = NULL, title = NULL WHERE id = ?", (row[0],)
                    )
                    rewritten += 1
            starts.append(start)
        pending, unreadable = 0, []
        jobs = [(item.path, start) for (item, _row), start in zip(work, starts, strict=True)]
        sizes = [item.size - start for (item, _row), start in zip(work, starts, strict=True)]
        for (item, row), start, found in zip(work, starts, extracted(jobs, sizes), strict=True):
            read = 0
            if found is None:  # cannot be opened: named, and tried again next time
                unreadable.append(item.path)
            elif not isinstance(found, str):  # a link reads as empty
                read = self._store(item, row, start, found)
            indexed += 1
            done += read
            pending += read
            if pending >= _COMMIT_BYTES:  # FTS5's best batch; another writer may get in
                self._db.execute("COMMIT")
                if self._unsynced:  # what the checkpoint copied, the mark too, is on disk
                    _fsync(str(self.db_path))  # before the next transaction reuses the WAL
                self._begin()  # another refresh may have written in between
                pending = 0
            if progress is not None:
                progress(done, max(total, done))
        return IndexStats(0, indexed, rewritten, len(gone), done, tuple(unreadable))

    def files(self) -> Iterator[tuple[Any, ...]]:
        yield from self._db.execute("SELECT path, session_id, cwd, title, indexed_to FROM files")


def _by_mtime(item: Disk) -> tuple[int, str]:
    return item.mtime_ns, item.path
