"""The summary cache without its walk, while ``roam watch`` keeps it current.

Every reader of the summary cache (``roam ls``, ``roam cs``, ``roam verify``) first walks the
projects folder (``session_scan``): at 50,000 sessions that walk, one ``lstat`` per session
file, is most of the time a command takes. ``roam watch`` hears every change below the folder
and refreshes the rows of the project that changed, recording itself as the cache's watcher;
while the rule of ``search_fresh`` holds (the same record, kept in the cache's ``meta`` table:
a live watcher of the same folder, watching since before the last full walk) a reader takes
the sessions as the cache last saw them (``cached_scan``) instead of walking.

What the walk finds besides the rows, each session's conflict copies (and the sessions left
with copies only), is kept in the ``copies`` table by every walk (``store_copies``), so that
the walk-less answer is the walk's answer.
"""

from __future__ import annotations

import time
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from session_roam.engine.sessions.search_fresh import Freshness
from session_roam.engine.sessions.session_scan import ScannedSession

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable

__all__ = [
    "cached_counts",
    "cached_scan",
    "freshness",
    "record_walk",
    "scope",
    "store_copies",
]


def scope(root: str, projects: tuple[str, ...] | None) -> tuple[str, list[str]]:
    """The ``WHERE`` clause (and its arguments) of ``root``'s rows, or the named projects'."""
    where, args = "root = ?", [root]
    if projects is not None:
        where += f" AND project IN ({','.join('?' * len(projects))})"
        args += projects
    return where, args


def cached_scan(
    db: sqlite3.Connection,
    root: str,
    projects: tuple[str, ...] | None,
    rows: Iterable[tuple[Any, ...]] | None = None,
) -> list[ScannedSession]:
    """The sessions below ``root`` as the cache last saw them: what ``scan_sessions`` finds
    when nothing changed since (the caller has checked that a watcher saw to that).

    ``rows`` are the summary rows already read (path, project, session id, size, mtime_ns,
    inode, ctime_ns), or None to read them here."""
    where, args = scope(root, projects)
    copies = {
        str(path): (str(project), str(sid), int(count))
        for path, project, sid, count in db.execute(
            f"SELECT path, project, session_id, copies FROM copies WHERE {where}",  # noqa: S608
            args,
        )
    }
    if rows is None:
        rows = db.execute(
            "SELECT path, project, session_id, size, mtime_ns, ino, ctime_ns "  # noqa: S608
            f"FROM summary WHERE {where}",
            args,
        )
    found = [
        ScannedSession(
            sid, project, path, size, mtime_ns, ino, ctime_ns, copies.pop(path, (0,))[-1]
        )
        for path, project, sid, size, mtime_ns, ino, ctime_ns in rows
    ]
    found += [ScannedSession(s, p, path, -1, 0, 0, 0, n) for path, (p, s, n) in copies.items()]
    found.sort(key=attrgetter("project", "session_id"))
    return found


def cached_counts(
    db: sqlite3.Connection, where: str, args: list[str]
) -> tuple[int, dict[str, int]]:
    """What ``roam ls`` needs of the walk, from the cache alone (``scope``'s ``where``): how
    many sessions, and the conflict copies of each that has some, by path."""
    (count,) = db.execute(f"SELECT count(*) FROM summary WHERE {where}", args).fetchone()  # noqa: S608
    copies = db.execute(f"SELECT path, copies FROM copies WHERE {where}", args)  # noqa: S608
    return int(count), {str(path): int(n) for path, n in copies}


def store_copies(
    db: sqlite3.Connection,
    root: str,
    projects: tuple[str, ...] | None,
    scanned: Iterable[ScannedSession],
) -> None:
    """Record what a walk of ``root`` (or of the named projects) found of conflict copies
    (inside the caller's transaction)."""
    where, args = scope(root, projects)
    db.execute(f"DELETE FROM copies WHERE {where}", args)  # noqa: S608
    db.executemany(
        "INSERT OR REPLACE INTO copies (path, root, project, session_id, copies) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (s.path, root, s.project, s.session_id, s.conflict_copies)
            for s in scanned
            if s.conflict_copies
        ],
    )


def freshness(db: sqlite3.Connection) -> Freshness:
    """The summary cache's watcher and walk facts (``search_fresh``), in its ``meta`` table."""
    return Freshness(db, "meta")


def record_walk(
    db: sqlite3.Connection,
    root: str,
    projects: tuple[str, ...] | None,
    scanned: list[ScannedSession],
    started: float | None,
    *,
    watcher: bool = False,
) -> None:
    """Record what a walk that began at ``started`` found besides the rows (None: there was
    no walk), and the caller as the cache's watcher with ``watcher`` (inside the caller's
    transaction)."""
    if started is not None:
        store_copies(db, root, projects, scanned)
        if projects is None:
            freshness(db).walked(root, started)
    if watcher:
        freshness(db).watched(root, time.time())
