"""Bringing the summary cache up to date without making a row object per session.

``roam ls --all``, ``roam verify`` and ``roam status`` need the cache current, then ask it
questions in SQL; none of them needs 50,000 Python objects of it. So one stat walk
(``session_scan``) is compared with the cache one project folder at a time: the cache answers
the folder's rows as (path, size, mtime_ns, inode, ctime_ns) from a covering index, the walk
has the same tuple of each file, and only the sessions whose tuple differs are read (from
their old end when only appended); rows the walk did not find are deleted. The walk lists a
session's sibling folder again only when its folders changed (``session_scan.Trees``, kept in
the ``trees`` table). ``verify`` asks for a rotating sample of the unchanged rest as well
(``Sample``), picked in SQL: the rows read longest ago first, bounded in count and in bytes,
so that it fits its time. Schema 6 adds the indexes and the table (``STAT_INDEX``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from session_roam.engine.sessions.session_scan import ScannedSession, Tree, Trees, walk_projects
from session_roam.engine.sessions.summary_fresh import cached_counts, record_walk, scope

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable


__all__ = ["COLUMNS", "STAT_INDEX", "Sample", "Synced", "VerifyRows", "sync", "verify_rows"]

#: What schema 6 adds: the covering index the comparison reads (no row of the table itself),
#: the indexes of verify's questions, and the sibling folders as last listed.
STAT_INDEX: Final = """
CREATE INDEX IF NOT EXISTS summary_walk
    ON summary (root, project, path, size, mtime_ns, ino, ctime_ns, unreadable);
CREATE INDEX IF NOT EXISTS summary_checked ON summary (root, checked, size);
CREATE INDEX IF NOT EXISTS summary_cwd ON summary (root, cwd);
CREATE INDEX IF NOT EXISTS summary_mtime ON summary (root, mtime_ns);
CREATE TABLE IF NOT EXISTS trees (
    path TEXT PRIMARY KEY, root TEXT NOT NULL, project TEXT NOT NULL,
    dirs TEXT NOT NULL, copies INTEGER NOT NULL, links TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trees_project ON trees (root, project);
"""
_TREES: Final = "SELECT path, dirs, copies, links FROM trees WHERE root = ? AND project = ?"
_PUT_TREE: Final = "INSERT OR REPLACE INTO trees VALUES (?, ?, ?, ?, ?, ?)"
_FORGET_TREES: Final = "DELETE FROM trees WHERE root = ? AND project = ?"
#: A folder changed this recently (ns) may change again in the same clock tick unseen.
_RACY_NS: Final = 2_000_000_000
#: A summary row's columns, in the order ``SummaryCache._read`` stores and reads them.
COLUMNS: Final = (
    "path, root, project, session_id, size, mtime_ns, ino, parsed_to, tail, cwd, title, "
    "first_prompt, last_prompt, last_activity, turns, too_long, too_deep, unreadable, checked, "
    "takeover, ctime_ns"
)
_ROW: Final = f"SELECT {COLUMNS} FROM summary WHERE path = ?"  # noqa: S608 (constants)
_SCANNED: Final = "SELECT session_id, project, path, size, mtime_ns, ino, ctime_ns FROM summary"
_WALK: Final = (
    "SELECT path, size, mtime_ns, ino, CASE WHEN unreadable IS NULL THEN ctime_ns ELSE -1 END "
    "FROM summary WHERE root = ? AND project = ?"
)
_PATHS: Final = "SELECT path FROM summary WHERE root = ? AND project = ?"


@dataclass(frozen=True, slots=True)
class Sample:
    """Unchanged sessions to read again whole: the ``count`` read longest ago, no more than
    ``max_bytes`` in all (a file that would pass the budget is left to ``verify --full``),
    none read since ``since`` (another command read those: they count as changed)."""

    count: int
    max_bytes: int
    since: float = 0.0


@dataclass(frozen=True, slots=True)
class Synced:
    """What one ``sync`` found. ``walked`` is False when a live watcher was trusted instead."""

    total: int
    changed: int
    appended: int
    sampled: int
    sampled_bytes: int
    #: Read by another command since ``Sample.since`` (0 without a sample).
    recent: int
    copies: dict[str, int]
    #: Sessions whose main file is gone, only conflict copies left: (project, session id).
    copies_only: tuple[tuple[str, str], ...]
    walked: bool


def sync(
    db: sqlite3.Connection,
    read: Callable[[str, ScannedSession, tuple[object, ...] | None], tuple[object, bool]],
    root: str,
    projects: tuple[str, ...] | None = None,
    *,
    trusted: bool = False,
    sample: Sample | None = None,
    full: bool = False,
    links: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Synced:
    """Bring ``root``'s rows (or the named projects') up to date with one stat walk, none
    when ``trusted`` (a live watcher keeps them current), and read ``sample`` (or with
    ``full`` every file) again whole. ``read`` is ``SummaryCache._read``: it reads one file
    and stores its row. ``links`` hears every symbolic link the walk passes."""
    where, args = scope(root, projects)
    if trusted and not full:
        return _trusted(db, read, root, where, args, sample, progress)
    started = time.time()
    recent, candidates = 0, list[str]()
    if sample is not None and not full:
        recent, candidates = _pick(db, where, args, sample)
    picked = set(candidates)
    unchanged: dict[str, ScannedSession] = {}  # sample candidates the walk found unchanged
    stale: list[ScannedSession] = []  # changed since the cache saw them
    fresh: list[ScannedSession] = []  # unchanged, to read again whole (sample, full)
    kept: list[ScannedSession] = []  # with conflict copies (the ``copies`` table)
    gone: list[tuple[str, float]] = []
    total = 0
    walked: set[str] = set()
    racy = time.time_ns() - _RACY_NS
    trees: list[tuple[str, Trees]] = []  # each project's sibling folders, to store after

    def trees_of(name: str) -> Trees:
        known = {path: Tree(dirs, copies, found) for path, dirs, copies, found in db.execute(
            _TREES, (root, name)
        )}  # fmt: skip
        trees.append((name, Trees(known, racy)))
        return trees[-1][1]

    for name, sessions in walk_projects(root, projects, links, trees_of):
        walked.add(name)
        # this project's rows as (size, mtime_ns, inode, ctime_ns), -1 for an unreadable one
        known = {row[0]: row[1:] for row in db.execute(_WALK, (root, name))}
        for item in sessions:
            if item.conflict_copies:
                kept.append(item)
            if item.size < 0:
                continue
            total += 1
            if known.pop(item.path, None) != item[3:7]:
                stale.append(item)
            elif full:
                fresh.append(item)
            elif item.path in picked:
                unchanged[item.path] = item
        gone += ((path, started) for path in known)  # rows of files the walk did not find
    listed = f"SELECT DISTINCT project FROM summary WHERE {where}"  # noqa: S608 (constants)
    vanished = [name for (name,) in db.execute(listed, args).fetchall() if name not in walked]
    for name in vanished:  # a project folder that is gone
        gone += ((path, started) for (path,) in db.execute(_PATHS, (root, name)))
    if sample is not None and not full:
        fresh = _bound(candidates, unchanged, sample)
    db.execute("BEGIN")
    try:
        appended = _read_each(db, read, root, stale, fresh, progress)
        # not a row another process (a watcher) wrote after this walk began
        db.executemany("DELETE FROM summary WHERE path = ? AND checked < ?", gone)
        _store_trees(db, root, trees)
        db.executemany(_FORGET_TREES, [(root, name) for name in vanished])
        record_walk(db, root, projects, kept, started)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    copies = {item.path: item.conflict_copies for item in kept if item.size >= 0}
    orphans = tuple((i.project, i.session_id) for i in kept if i.size < 0)
    return Synced(
        total, len(stale), appended, len(fresh), sum(item.size for item in fresh), recent,
        copies, orphans, walked=True,
    )  # fmt: skip


def _store_trees(db: sqlite3.Connection, root: str, trees: list[tuple[str, Trees]]) -> None:
    """Keep what the walk listed of the sibling folders (inside the caller's transaction)."""
    for name, found in trees:
        forget = [(path,) for path in found.gone]
        forget += [(path,) for path, tree in found.changed.items() if tree is None]
        db.executemany("DELETE FROM trees WHERE path = ?", forget)
        db.executemany(
            _PUT_TREE,
            [
                (path, root, name, tree.dirs, tree.copies, tree.links)
                for path, tree in found.changed.items()
                if tree is not None
            ],
        )


def _read_each(
    db: sqlite3.Connection,
    read: Callable[[str, ScannedSession, tuple[object, ...] | None], tuple[object, bool]],
    root: str,
    stale: list[ScannedSession],
    forced: list[ScannedSession],
    progress: Callable[[int, int], None] | None,
) -> int:
    """Read the changed files (from their old end when only appended), then ``forced`` whole
    (inside the caller's transaction): how many were read from their old end."""
    appended = 0
    work = [(item, True) for item in stale] + [(item, False) for item in forced]
    for done, (item, changed) in enumerate(work):
        if progress is not None:
            progress(done, len(work))
        old = db.execute(_ROW, (item.path,)).fetchone() if changed else None
        _row, resumed = read(root, item, old)
        appended += resumed
    return appended


def _trusted(
    db: sqlite3.Connection,
    read: Callable[[str, ScannedSession, tuple[object, ...] | None], tuple[object, bool]],
    root: str,
    where: str,
    args: list[str],
    sample: Sample | None,
    progress: Callable[[int, int], None] | None,
) -> Synced:
    """``sync`` without a walk, a live watcher keeping the rows current: the sample alone."""
    count, copies = cached_counts(db, where, args)
    recent, forced = 0, []
    if sample is not None:
        recent, candidates = _pick(db, where, args, sample)
        unchanged: dict[str, ScannedSession] = {}
        for path in candidates:
            row = db.execute(f"{_SCANNED} WHERE path = ?", (path,)).fetchone()
            if row is not None:
                sid, project, _path, size, mtime_ns, ino, ctime_ns = row
                unchanged[path] = ScannedSession(
                    sid, project, path, size, mtime_ns, ino, ctime_ns or 0, copies.get(path, 0)
                )
        forced = [item for item in _bound(candidates, unchanged, sample) if _as_cached(item)]
        db.execute("BEGIN")
        try:
            _read_each(db, read, root, [], forced, progress)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return Synced(
        count, 0, 0, len(forced), sum(item.size for item in forced), recent, copies,
        _copies_only(db, where, args), walked=False,
    )  # fmt: skip


def _pick(
    db: sqlite3.Connection, where: str, args: list[str], sample: Sample
) -> tuple[int, list[str]]:
    """(how many rows were read since ``sample.since``, the sample's candidates, oldest
    first: more than ``sample.count``, since some may turn out changed, and ``_bound`` them)."""
    (recent,) = db.execute(
        f"SELECT count(*) FROM summary WHERE {where} AND checked >= ?",  # noqa: S608
        [*args, sample.since],
    ).fetchone()
    oldest = db.execute(
        f"SELECT path FROM summary WHERE {where} AND checked < ? "  # noqa: S608
        "ORDER BY checked LIMIT ?",
        [*args, sample.since, sample.count + sample.count // 4 + 8],
    )
    return int(recent), [str(path) for (path,) in oldest]


def _bound(
    candidates: list[str], unchanged: dict[str, ScannedSession], sample: Sample
) -> list[ScannedSession]:
    """The unchanged candidates, oldest first, up to the sample's count and bytes."""
    picked: list[ScannedSession] = []
    budget = sample.max_bytes
    for path in candidates:
        item = unchanged.get(path)
        if item is None or item.size > budget:
            continue
        picked.append(item)
        budget -= item.size
        if len(picked) >= sample.count:
            break
    return picked


def _copies_only(
    db: sqlite3.Connection, where: str, args: list[str]
) -> tuple[tuple[str, str], ...]:
    """The sessions the last walk found with conflict copies and no main file."""
    found = db.execute(
        f"SELECT project, session_id FROM copies WHERE {where} AND path NOT IN "  # noqa: S608
        f"(SELECT path FROM summary WHERE {where})",
        [*args, *args],
    )
    return tuple(sorted((str(p), str(s)) for p, s in found))


class VerifyRows(NamedTuple):
    """What ``roam verify``'s checks look at, asked of the cache (rows are ``COLUMNS``)."""

    #: Unreadable sessions, and one per recorded cwd.
    shown: list[tuple[Any, ...]]
    #: (project, session id, title) of each titled session (namespaces).
    titles: list[tuple[str, str, str]]
    #: (path, records over the caps) of each file with some.
    unread: list[tuple[str, int]]
    #: (project, session id) of each transcript with a take-over row: a fork may follow it.
    takeovers: list[tuple[str, str]]
    #: The paths of the ``newest`` sessions by mtime, newest first (compared with each peer).
    newest: list[str]


def verify_rows(db: sqlite3.Connection, root: str, newest: int) -> VerifyRows:
    """One pass over ``root``'s rows for the few that ``roam verify`` looks at."""
    first = "rowid IN (SELECT min(rowid) FROM summary WHERE root = ? GROUP BY cwd)"
    found = db.execute(
        f"SELECT {COLUMNS}, {first} FROM summary WHERE root = ? AND "  # noqa: S608
        "(coalesce(title, '') != '' OR unreadable IS NOT NULL OR takeover OR too_long "
        f"OR too_deep OR {first}) ORDER BY project, session_id",
        (root, root, root),
    )
    shown: list[tuple[Any, ...]] = []
    titles: list[tuple[str, str, str]] = []
    unread: list[tuple[str, int]] = []
    takeovers: list[tuple[str, str]] = []
    for row in found:
        if row[17] or row[21]:
            shown.append(row[:21])
        if row[10]:
            titles.append((row[2], row[3], row[10]))
        if row[15] or row[16]:
            unread.append((row[0], int(row[15]) + int(row[16])))
        if row[19]:
            takeovers.append((row[2], row[3]))
    latest = db.execute(
        "SELECT path FROM summary WHERE root = ? ORDER BY mtime_ns DESC LIMIT ?", (root, newest)
    )
    return VerifyRows(shown, titles, unread, takeovers, [str(path) for (path,) in latest])


def _as_cached(item: ScannedSession) -> bool:
    """Whether a sampled file is still as its row says: one removed or changed since is the
    watcher's to refresh (read here, a removed file would come back as an unreadable row)."""
    try:
        info = os.lstat(item.path)
    except OSError:
        return False
    return (info.st_size, info.st_mtime_ns, info.st_ino) == (item.size, item.mtime_ns, item.ino)
