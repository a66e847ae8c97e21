"""``roam cf``: find the sessions that mention something, best match first.

The query is FTS5 syntax when it parses (``rsync AND backup``, ``"exact phrase"``, ``deploy*``)
and a plain list of words when it does not: a stray quote or ``foo-bar`` must never fail a
search, so a query SQLite rejects is retried with every word quoted (all words must appear).

Ranking is bm25 over single rows (one user prompt, one assistant reply), each session shown once
with its best row, and newer rows first when scores tie. A very common word could match millions
of rows, so the matching rows of the scope (this directory's projects, or every project with
``--all``) are read newest first, in batches, only until enough sessions are covered (at most
``_CANDIDATES`` rows; when a few long sessions fill them, the sessions further down are found
unscored and each is ranked on its newest matching row, so an older session that says the
word once is still shown), and only those are ranked: a query then costs milliseconds, or
tens of them for a common word in long sessions, whatever the size of the index and of the
scope, and favours what was said recently. Rows of other projects are passed over inside
SQLite and never scored (``search_query._scope_filter``). A first index writes sessions oldest
first, so that row order follows time from the start.

Every query refreshes the index first (a ``stat`` per session file, plus reading whatever was
appended), so results are never stale, unless ``roam watch`` keeps it current: then a warm
query is the lookup alone (``search_fresh`` says when; ``refresh_search_index`` is the
watcher's half). Only the standard library is imported, and data types
are ``NamedTuple``s (see ``search_index`` for why).
"""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING, NamedTuple

from session_roam.engine.sessions.search_index import IndexStats, Progress, SearchIndex
from session_roam.engine.sessions.search_query import (
    INDEX_NAME,
    MAX_LIMIT,
    Match,
    is_query_error,
    quoted_query,
    run_query,
)
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


def fts_query(words: list[str]) -> str:
    """The words as the user typed them (FTS5 syntax allowed); InvalidInput when empty."""
    text = " ".join(word.strip() for word in words).strip()
    if not text or not quoted_query(words).replace('"', "").strip():
        raise InvalidInput(
            "Nothing to search for: the keyword is empty.",
            hint='Give a word or phrase, e.g. `roam cf "rate limit"`.',
        )
    return text


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
    if limit > MAX_LIMIT:  # past it, a query's "?" marks could pass SQLite's limit of 32,766
        raise InvalidInput(
            f"--limit must be at most {MAX_LIMIT:,}, not {limit:,}.", hint="Try --limit 1000."
        )
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
                    matches = run_query(index.db, query, scope, limit)
                except sqlite3.OperationalError as error:
                    if not is_query_error(error):
                        raise
                    query = quoted_query(words)
                    matches = run_query(index.db, query, scope, limit)
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
