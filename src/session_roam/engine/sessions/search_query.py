"""The lookup half of ``roam cf``: ranking matching rows in an index that is already current.

Split from ``search`` so that the warm ``roam cf --json --all`` (the first step of
``cli/fast.py``) imports ``sqlite3`` and this module and nothing else: not even ``typing``
(about 5 ms, with ``re`` and ``enum``, of a 20 ms interpreter start), hence ``Match`` is a
plain class with slots and ``TYPE_CHECKING`` is spelled out (mypy treats the name as true
wherever it is defined).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from typing import Any, Final

__all__ = [
    "INDEX_NAME",
    "MAX_LIMIT",
    "SCHEMA_VERSION",
    "Match",
    "is_query_error",
    "quoted_query",
    "run_query",
    "warm_search",
]

INDEX_NAME: Final = "search.sqlite3"
SCHEMA_VERSION: Final = 3
MAX_LIMIT: Final = 10_000  # sessions a query may ask for (twice as many "?" marks, at most)
_CANDIDATES: Final = 4000
_BATCH: Final = 100
_SCAN_BATCH: Final = 1000
_SPARE_FILES: Final = 4
_SMALL_SCOPE: Final = 16
_SHORT_MATCH: Final = 1024
_RECENT_ROWS: Final = 2048
_MARK_START: Final = "\x02"
_MARK_END: Final = "\x03"
_SNIPPET_TOKENS: Final = 20
_SNIPPET_SPAN: Final = 32768


class Match:
    """The best-matching row of one session.

    ``snippet`` is plain text; ``highlights`` are ``(start, end)`` character offsets of the
    matched words inside it, so a terminal can embolden them and a script can ignore them.
    """

    __slots__ = (
        "cwd",
        "highlights",
        "path",
        "project",
        "role",
        "score",
        "session_id",
        "snippet",
        "timestamp",
        "title",
    )

    def __init__(
        self,
        session_id: str,
        path: str,
        project: str,
        cwd: str | None,
        title: str | None,
        timestamp: str,
        role: str,
        snippet: str,
        highlights: tuple[tuple[int, int], ...],
        score: float,
    ) -> None:
        self.session_id = session_id
        self.path = path
        self.project = project
        self.cwd = cwd
        self.title = title
        self.timestamp = timestamp
        self.role = role
        self.snippet = snippet
        self.highlights = highlights
        self.score = score

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Match) and self.as_json() == other.as_json()

    __hash__ = None  # type: ignore[assignment]  # mutable slots: not a dict key

    def __repr__(self) -> str:
        return f"Match({self.session_id!r}, {self.path!r}, score={self.score!r})"

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


def quoted_query(words: list[str]) -> str:
    """Every word as an FTS5 string: the query that cannot be a syntax error."""
    parts = [part for word in words for part in word.split()]
    return " ".join('"' + part.replace('"', '""') + '"' for part in parts)


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


def _scope_filter(
    db: sqlite3.Connection, query: str, scope: frozenset[str]
) -> tuple[str, tuple[Any, ...]] | None:
    """The SQL (after ``chunks MATCH ?``) that keeps the rows of ``scope``'s projects, with its
    parameters; None when no file is in scope.

    A condition FTS5 cannot use is tested once per matching row, so what it costs a row
    matters, against what it costs to set up (a look at every file, ~0.2 µs each): fewer than
    ``_SHORT_MATCH`` matching rows, the row's project (two key lookups: no set-up); whole scope,
    none; a scope of at most 1/``_SMALL_SCOPE`` of the files, a probe of the set of its row ids
    (built once: cheap, as the scope is small), within the span of rows its files hold (FTS5
    seeks to it); a larger one, the row's file (a key lookup), below the scope's newest row
    (found among the newest ``_RECENT_ROWS`` rows, else file by file).
    """
    projects = sorted(scope)
    marks = ",".join("?" * len(projects))
    (short,) = db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM chunks WHERE chunks MATCH ? LIMIT ?)",
        (query, _SHORT_MATCH),
    ).fetchone()
    if short < _SHORT_MATCH:
        return (
            f" AND (SELECT project FROM files WHERE id = r.file_id) IN ({marks})",  # noqa: S608
            tuple(projects),
        )
    files, inside = db.execute(
        f"SELECT count(*), total(project IN ({marks})) FROM files",  # noqa: S608  # "?" marks
        projects,
    ).fetchone()
    if not inside:
        return None
    if inside == files:
        return "", ()
    in_scope = f"SELECT id FROM files WHERE project IN ({marks})"  # noqa: S608  # "?" marks
    span = (
        "SELECT min((SELECT min(id) FROM rows WHERE file_id = f.id)),"  # noqa: S608  # "?" marks
        " max((SELECT max(id) FROM rows WHERE file_id = f.id))"
        f" FROM files AS f WHERE f.project IN ({marks})"
    )
    if inside * _SMALL_SCOPE <= files:
        low, high = db.execute(span, projects).fetchone()
        if low is None:
            return None
        return (
            f" AND +c.rowid IN (SELECT id FROM rows WHERE file_id IN ({in_scope}))"  # noqa: S608
            " AND c.rowid BETWEEN ? AND ?",
            (*projects, low, high),
        )
    (high,) = db.execute(
        "SELECT max(r.id) FROM (SELECT id, file_id FROM rows ORDER BY id DESC LIMIT ?) AS r"  # noqa: S608
        f" WHERE r.file_id IN ({in_scope})",
        (_RECENT_ROWS, *projects),
    ).fetchone()
    if high is None:
        high = db.execute(span, projects).fetchone()[1]
        if high is None:
            return None
    return f" AND r.file_id IN ({in_scope}) AND c.rowid <= ?", (*projects, high)


def _candidates(
    db: sqlite3.Connection, query: str, scope: frozenset[str] | None, limit: int
) -> list[tuple[Any, ...]]:
    """(rowid, score, file_id, ts, role) of matching rows of ``scope`` (None: every project).

    Matching rows are read (and scored) newest first only until ``limit`` sessions, plus a few
    spare, are covered: a word in every session would otherwise be scored millions of times
    (bm25 costs microseconds a row). A session's best row is its best among the rows read;
    when ``_CANDIDATES`` rows cover too few sessions, each further session is scored on its
    newest matching row. Rows outside the scope are passed over inside SQLite, unscored
    (``_scope_filter``): bm25 runs on the rows returned alone.
    """
    condition: str = ""
    parameters: tuple[Any, ...] = ()
    if scope is not None:
        where = _scope_filter(db, query, scope)
        if where is None:
            return []
        condition, parameters = where
    # Rows come newest first and lazily from the cursor, so scoring stops where reading stops.
    joined = " FROM chunks AS c CROSS JOIN rows AS r ON r.id = c.rowid WHERE chunks MATCH ?"
    cursor = db.execute(
        f"SELECT c.rowid, bm25(chunks), r.file_id, r.ts, r.role{joined}{condition}"  # "?" marks
        " ORDER BY c.rowid DESC LIMIT ?",
        (query, *parameters, _CANDIDATES),
    )
    found: list[tuple[Any, ...]] = []
    files: set[int] = set()
    wanted = limit + _SPARE_FILES
    read = 0
    while len(files) < wanted:
        batch = cursor.fetchmany(_BATCH)
        if not batch:
            break
        read += len(batch)
        found.extend(batch)
        files.update(item[2] for item in batch)
    cursor.close()
    if len(files) >= wanted or read < _CANDIDATES:
        return found
    # A few long sessions filled them. Further down, unscored, the newest matching row of each
    # session not covered, until enough are; those alone are scored then, in one statement (a
    # statement with bm25 counts the word's rows again). The bound first: FTS5 seeks on it.
    newest: dict[int, int] = {}
    cursor = db.execute(
        f"SELECT c.rowid, r.file_id{joined} AND c.rowid < ?{condition} ORDER BY c.rowid DESC",
        (query, found[-1][0], *parameters),
    )
    while len(files) + len(newest) < wanted:
        batch = cursor.fetchmany(_SCAN_BATCH)
        if not batch:
            break
        for rowid, file_id in batch:
            if file_id not in files and file_id not in newest:
                newest[file_id] = rowid
                if len(files) + len(newest) >= wanted:
                    break
    cursor.close()
    if newest:
        # "+rowid IN": given "rowid IN", FTS5 seeks (and counts for bm25, ~12 ms) per value.
        chosen = sorted(newest.values())
        found += db.execute(
            f"SELECT c.rowid, bm25(chunks), r.file_id, r.ts, r.role{joined}"  # "?" marks
            f" AND c.rowid BETWEEN ? AND ? AND +c.rowid IN ({','.join('?' * len(chosen))})"
            " ORDER BY c.rowid DESC",
            (query, chosen[0], chosen[-1], *chosen),
        ).fetchall()
    return found


def run_query(
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
    files = {
        row[0]: row
        for row in db.execute(
            f"SELECT id, path, project, session_id, cwd, title FROM files WHERE id IN ({marks})",  # noqa: S608  # "?" marks
            tuple(item[2] for item in chosen),
        )
    }
    shown: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    for item in chosen:
        info = files.get(item[2])
        if info is None or not os.path.exists(info[1]):
            continue  # removed since the refresh: never show a session that is gone
        shown.append((item, info))
        if len(shown) >= limit:
            break
    if not shown:
        return []
    rowids = [item[0] for item, _ in shown]
    low, high = min(rowids), max(rowids)
    # Snippets of the rows shown alone (each costs ~25 µs: its row is tokenised). "rowid IN"
    # seeks the word's rows once per snippet (~60 µs each for a word in most rows); one pass
    # over their span costs ~35 ns per matching row in it, so it is taken when the span is short.
    span, bounds = (
        ("rowid BETWEEN ? AND ? AND +", (low, high)) if high - low < _SNIPPET_SPAN else ("", ())
    )
    snippets = dict(
        db.execute(
            f"SELECT rowid, snippet(chunks, 0, ?, ?, '…', {_SNIPPET_TOKENS}) FROM chunks"  # noqa: S608  # "?" marks, constants
            f" WHERE chunks MATCH ? AND {span}rowid IN ({','.join('?' * len(rowids))})",
            (_MARK_START, _MARK_END, query, *bounds, *rowids),
        ).fetchall()
    )
    matches: list[Match] = []
    for (rowid, score, _, ts, role), info in shown:
        text, spans = _split_snippet(snippets.get(rowid, ""))
        matches.append(
            Match(info[3], info[1], info[2], info[4], info[5], ts, role, text, spans, score)
        )
    return matches


def is_query_error(error: sqlite3.OperationalError) -> bool:
    """FTS5 rejected the query text (not a locked or broken database)."""
    text = str(error).lower()
    return not any(word in text for word in ("locked", "busy", "disk", "readonly", "i/o"))


def warm_search(
    cache_dir: str,
    projects_root: str,
    words: list[str],
    limit: int,
    scope: frozenset[str] | None = None,
) -> list[Match] | None:
    """The best ``limit`` sessions of ``scope``'s projects (None: every project) from the index
    in ``cache_dir`` (the file ``search_index`` writes, ``INDEX_NAME``) that ``roam watch``
    keeps current, with no refresh; None when that cannot be trusted (no index, another schema,
    no live watcher of ``projects_root``: ``search_fresh``), or the words are not a plain
    query. The caller then runs the full ``search_sessions``, which answers the same for a
    current index.
    """
    sqlite = _sqlite_module()
    Error, OperationalError, connect = sqlite.Error, sqlite.OperationalError, sqlite.connect

    from session_roam.engine.sessions.search_fresh import Freshness

    text = " ".join(word.strip() for word in words).strip()
    db_path = os.path.join(cache_dir, INDEX_NAME)
    if not text or not 1 <= limit <= MAX_LIMIT or not os.path.isfile(db_path):
        return None
    # Read-only: closing the last connection then neither checkpoints nor deletes the WAL.
    try:
        db = connect(_read_only_uri(db_path), uri=True, isolation_level=None, timeout=10.0)
    except Error:
        return None
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            return None
        if not Freshness(db).kept_fresh(projects_root):
            return None
        # One snapshot for the scope's set-up statements and the query: the watcher may
        # commit between them.
        db.execute("BEGIN")
        try:
            return run_query(db, text, scope, limit)
        except OperationalError as error:
            if not is_query_error(error):
                return None
            return run_query(db, quoted_query(words), scope, limit)
    except Error:
        return None
    finally:
        db.close()


def _sqlite_module() -> Any:
    """SQLite's C module ``_sqlite3``, not ``sqlite3``, which adds ``datetime`` and the default
    adapters (~3 ms); the usual import where the C module cannot be loaded on its own. (Without
    ``functools`` too, ~2 ms more, only by a stand-in module in the interpreter's table while it
    loads: not a trick to play on users' machines.)"""
    try:
        import _sqlite3
    except ImportError:
        import sqlite3  # the usual way (it imports ``_sqlite3``, whose names it re-exports)

        return sqlite3
    return _sqlite3


def _read_only_uri(path: str) -> str:
    """``path`` as an SQLite URI opened read-only (``urllib.parse`` costs milliseconds)."""
    escaped = path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    return f"file:{escaped}?mode=ro"
