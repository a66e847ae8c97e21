"""``roam cf``: find the sessions that mention something, best match first.

The query is FTS5 syntax when it parses (``rsync AND backup``, ``"exact phrase"``, ``deploy*``)
and a plain list of words when it does not: a stray quote or ``foo-bar`` must never fail a
search, so a query SQLite rejects is retried with every word quoted (all words must appear).

Ranking is bm25 over single rows (one user prompt, one assistant reply), each session shown once
with its best row, and newer rows first when scores tie. With ``--all`` a very common word could
match millions of rows; matching rows are then ranked newest first, in batches, only until
enough sessions are covered (at most ``_CANDIDATES`` rows), which keeps a query in milliseconds
and favours what was said recently.

Every query refreshes the index first (a ``stat`` per session file, plus reading whatever was
appended), so results are never stale, unless ``roam watch`` keeps it current: then a warm
query is the lookup alone (``search_fresh`` says when; ``refresh_search_index`` is the
watcher's half). Only the standard library is imported, and data types
are ``NamedTuple``s (see ``search_index`` for why).
"""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from session_roam.engine.sessions.search_index import INDEX_NAME, IndexStats, Progress, SearchIndex
from session_roam.errors import InvalidInput, RoamError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = [
    "Match",
    "SearchResult",
    "fts_query",
    "quoted_query",
    "refresh_search_index",
    "search_sessions",
]

_CANDIDATES: Final = 4000
_BATCH: Final = 100
_SPARE_FILES: Final = 4
_MARK_START: Final = "\x02"
_MARK_END: Final = "\x03"
_SNIPPET_TOKENS: Final = 20


class Match(NamedTuple):
    """The best-matching row of one session.

    ``snippet`` is plain text; ``highlights`` are ``(start, end)`` character offsets of the
    matched words inside it, so a terminal can embolden them and a script can ignore them.
    """

    session_id: str
    path: str
    project: str
    cwd: str | None
    title: str | None
    timestamp: str
    role: str
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    score: float

    def as_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "path": self.path,
            "project": self.project,
            "cwd": self.cwd,
            "title": self.title,
            "timestamp": self.timestamp,
            "role": self.role,
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
            "score": round(self.score, 4),
        }


class SearchResult(NamedTuple):
    matches: tuple[Match, ...]
    refreshed: IndexStats
    query: str  # the FTS5 query that ran (after quoting, if it had to be quoted)
    unreadable: tuple[str, ...] = ()  # session files in scope that could not be opened

    @staticmethod
    def in_scope(paths: tuple[str, ...], scope: frozenset[str] | None) -> tuple[str, ...]:
        """The paths whose project folder is one of ``scope`` (all of them when None)."""
        return tuple(
            p for p in paths if scope is None or os.path.basename(os.path.dirname(p)) in scope
        )


def quoted_query(words: list[str]) -> str:
    """Every word as an FTS5 string: the query that cannot be a syntax error."""
    parts = [part for word in words for part in word.split()]
    return " ".join('"' + part.replace('"', '""') + '"' for part in parts)


def fts_query(words: list[str]) -> str:
    """The words as the user typed them (FTS5 syntax allowed); InvalidInput when empty."""
    text = " ".join(word.strip() for word in words).strip()
    if not text or not quoted_query(words).replace('"', "").strip():
        raise InvalidInput(
            "Nothing to search for: the keyword is empty.",
            hint='Give a word or phrase, e.g. `roam cf "rate limit"`.',
        )
    return text


def _split_snippet(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start = -1
    for char in marked:
        if char == _MARK_START:
            start = length
        elif char == _MARK_END:
            if start >= 0:
                spans.append((start, length))
            start = -1
        else:
            plain.append(char)
            length += 1
    text = "".join(plain).replace("\n", " ")
    return text, tuple(spans)


def _candidates(
    db: sqlite3.Connection, query: str, scope: frozenset[str] | None, limit: int
) -> list[tuple[Any, ...]]:
    """(rowid, score, file_id, ts, role) of matching rows.

    Across every project, matching rows are read (and scored) newest first only until ``limit``
    sessions, plus a few spare, are covered or ``_CANDIDATES`` rows were read: a word in every
    session would otherwise be scored millions of times (bm25 costs ~25 µs a row).
    """
    if scope is not None:
        marks = ",".join("?" * len(scope))
        sql = (
            "SELECT chunks.rowid, bm25(chunks), r.file_id, r.ts, r.role FROM chunks"  # noqa: S608  # only "?" marks are formatted in
            " JOIN rows AS r ON r.id = chunks.rowid JOIN files AS f ON f.id = r.file_id"
            f" WHERE chunks MATCH ? AND f.project IN ({marks})"
        )
        return db.execute(sql, (query, *sorted(scope))).fetchall()
    # Rows come newest first and lazily from the cursor, so scoring stops where reading stops.
    # (FTS5 seeks on "rowid = ?" but scores a whole common-word match for "rowid IN (...)", so
    # scoring a chosen few rows afterwards would cost more than this single pass.)
    cursor = db.execute(
        "SELECT rowid, bm25(chunks) FROM chunks WHERE chunks MATCH ? ORDER BY rowid DESC LIMIT ?",
        (query, _CANDIDATES),
    )
    found: list[tuple[Any, ...]] = []
    files: set[int] = set()
    while len(files) < limit + _SPARE_FILES:
        batch = cursor.fetchmany(_BATCH)
        if not batch:
            break
        scores = dict(batch)
        marks = ",".join("?" * len(batch))
        for rowid, file_id, ts, role in db.execute(
            f"SELECT id, file_id, ts, role FROM rows WHERE id IN ({marks})",  # noqa: S608  # "?" marks
            list(scores),
        ):
            found.append((rowid, scores[rowid], file_id, ts, role))
            files.add(file_id)
    cursor.close()
    return found


def _run(
    db: sqlite3.Connection, query: str, scope: frozenset[str] | None, limit: int
) -> list[Match]:
    best: dict[int, tuple[Any, ...]] = {}
    for item in _candidates(db, query, scope, limit):
        current = best.get(item[2])
        if (
            current is None
            or item[1] < current[1]
            or (item[1] == current[1] and item[3] > current[3])
        ):
            best[item[2]] = item
    # Best score first; among equal scores the newer row (two stable sorts).
    ranked = sorted(best.values(), key=lambda item: item[3], reverse=True)
    ranked.sort(key=lambda item: round(item[1], 6))
    chosen = ranked[: max(limit * 2, limit + 8)]  # spare rows for files deleted meanwhile
    if not chosen:
        return []
    marks = ",".join("?" * len(chosen))
    snippets = dict(
        db.execute(
            f"SELECT rowid, snippet(chunks, 0, ?, ?, '…', {_SNIPPET_TOKENS}) FROM chunks"  # noqa: S608  # "?" marks, a constant
            f" WHERE chunks MATCH ? AND rowid IN ({marks})",
            (_MARK_START, _MARK_END, query, *(item[0] for item in chosen)),
        ).fetchall()
    )
    files = {
        row[0]: row
        for row in db.execute(
            f"SELECT id, path, project, session_id, cwd, title FROM files WHERE id IN ({marks})",  # noqa: S608  # "?" marks
            tuple(item[2] for item in chosen),
        )
    }
    matches: list[Match] = []
    for rowid, score, file_id, ts, role in chosen:
        info = files.get(file_id)
        if info is None or not os.path.exists(info[1]):
            continue  # removed since the refresh: never show a session that is gone
        text, spans = _split_snippet(snippets.get(rowid, ""))
        matches.append(
            Match(info[3], info[1], info[2], info[4], info[5], ts, role, text, spans, score)
        )
        if len(matches) >= limit:
            break
    return matches


def _is_query_error(error: sqlite3.OperationalError) -> bool:
    """FTS5 rejected the query text (not a locked or broken database)."""
    text = str(error).lower()
    return not any(word in text for word in ("locked", "busy", "disk", "readonly", "i/o"))


def search_sessions(
    words: list[str],
    *,
    projects_root: Path,
    cache_dir: Path,
    scope: frozenset[str] | None = None,
    limit: int = 20,
    progress: Progress | None = None,
) -> SearchResult:
    """Refresh the index under ``cache_dir``, then return the best ``limit`` sessions.

    ``scope`` is a set of project folder names (this directory's, and those mapped to it);
    ``None`` searches every project. A corrupt index is deleted and rebuilt, once.
    """
    if limit < 1:
        raise InvalidInput(f"--limit must be at least 1, not {limit}.", hint="Try --limit 20.")
    query = fts_query(words)
    index = SearchIndex(cache_dir / INDEX_NAME)
    try:
        for attempt in range(2):
            try:
                if index.freshness.kept_fresh(str(projects_root)):
                    stats = IndexStats(0, 0, 0, 0, 0)
                else:
                    stats = index.refresh(projects_root, progress)
                try:
                    matches = _run(index.db, query, scope, limit)
                except sqlite3.OperationalError as error:
                    if not _is_query_error(error):
                        raise
                    query = quoted_query(words)
                    matches = _run(index.db, query, scope, limit)
                unreadable = SearchResult.in_scope(stats.unreadable, scope)
                return SearchResult(tuple(matches), stats, query, unreadable)
            except sqlite3.OperationalError:
                raise  # locked or busy: a cache that is in use is not corrupt
            except sqlite3.DatabaseError:
                if attempt:
                    raise
                index.rebuild()
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        index.close()


def refresh_search_index(
    projects_root: Path, changed: Iterable[Path], cache_dir: Path | None = None
) -> IndexStats | None:
    """Bring the search index up to date for the session files in ``changed`` only.

    ``roam watch`` calls it with what it saw change; it records the caller as the index's
    watcher, so warm queries skip their walk (``search_fresh``). Without an index yet (no
    ``roam cf`` ever ran here) it does nothing: the first query builds it. A cache that cannot
    be opened or is busy is logged and skipped (the next query walks and catches up); None then.
    """
    import logging  # not at the top: this module is on `roam cf --json`'s start-up path

    log = logging.getLogger(__name__)
    if cache_dir is None:
        from session_roam.engine.core import xdg

        cache_dir = xdg.cache_dir()
    db_path = cache_dir / INDEX_NAME
    if not db_path.is_file():
        return None
    try:
        index = SearchIndex(db_path)
    except (sqlite3.Error, OSError, RoamError) as exc:
        log.warning("search index not refreshed: %s", exc)
        return None
    try:
        return index.refresh_paths(projects_root, changed)
    except (sqlite3.Error, OSError) as exc:
        log.warning("search index not refreshed: %s", exc)
        return None
    finally:
        index.close()
