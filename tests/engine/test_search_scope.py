"""`roam cf` without `--all`: this directory's sessions, ranked as `--all` ranks every project's.

The scope's matching rows are read newest first until enough sessions are covered, rows of other
projects passed over unscored, whatever share of the index the scope holds (issue 16).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from session_roam.engine.core.paths import projects_dir
from session_roam.engine.sessions import search_query
from session_roam.engine.sessions.search import search_sessions
from session_roam.engine.sessions.search_index import INDEX_NAME, SearchIndex

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter


def _search(
    config_dir: Path, cache: Path, word: str, scope: Path | None, limit: int = 20
) -> list[str]:
    result = search_sessions(
        [word],
        projects_root=projects_dir(config_dir),
        cache_dir=cache,
        scope=None if scope is None else frozenset({scope.name}),
        limit=limit,
    )
    return [match.session_id for match in result.matches]


def _elsewhere(writer: SessionWriter, tmp_path: Path, count: int, text: str) -> None:
    """``count`` sessions saying ``text``, each in a project of its own."""
    for number in range(count):
        cwd = tmp_path / f"other{number}"
        cwd.mkdir()
        writer.write(cwd, [(text, "ok")])


def test_scoped_search_shows_only_the_scopes_sessions(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path, tmp_path: Path
) -> None:
    mine = writer.write(project, [("the parser fails", "ok")])
    _elsewhere(writer, tmp_path, 3, "the parser fails")
    assert _search(config_dir, cache, "parser", mine.parent) == [mine.stem]


def test_scoped_search_ranks_the_best_match_first(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path, tmp_path: Path
) -> None:
    strong = writer.write(project, [("parser parser parser", "ok")])
    weak = writer.write(project, [("the parser in a long sentence about other things", "ok")])
    _elsewhere(writer, tmp_path, 3, "parser parser parser parser")
    assert _search(config_dir, cache, "parser", strong.parent) == [strong.stem, weak.stem]


def test_scoped_search_puts_the_newer_session_first_on_a_tie(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    older = writer.write(project, [("the parser fails", "ok")])
    newer = writer.write(project, [("the parser fails", "ok")])
    assert _search(config_dir, cache, "parser", older.parent) == [newer.stem, older.stem]


def test_scoped_search_honours_the_limit(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    paths = [writer.write(project, [("the parser fails", "ok")]) for _ in range(5)]
    found = _search(config_dir, cache, "parser", paths[0].parent, limit=3)
    assert found == [path.stem for path in reversed(paths)][:3]


@pytest.mark.parametrize("others", [2, 40], ids=["scope-most-files", "scope-few-files"])
@pytest.mark.parametrize("recent_rows", [1, 2048], ids=["newest-row-far", "newest-row-near"])
def test_scoped_search_finds_every_match_of_the_scope_among_other_projects(
    writer: SessionWriter,
    project: Path,
    config_dir: Path,
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    others: int,
    recent_rows: int,
) -> None:
    monkeypatch.setattr(search_query, "_RECENT_ROWS", recent_rows)
    monkeypatch.setattr(search_query, "_SHORT_MATCH", 1)  # as for a common word
    first = writer.write(project, [("the parser fails", "ok")])
    for _ in range(others // 2):
        writer.write(project, [("nothing to see", "ok")])
    second = writer.write(project, [("the parser fails", "ok")])
    _elsewhere(writer, tmp_path, others, "the parser fails")
    found = _search(config_dir, cache, "parser", first.parent)
    assert sorted(found) == sorted([first.stem, second.stem])


def test_scoped_search_without_a_match_in_the_scope_finds_nothing(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path, tmp_path: Path
) -> None:
    mine = writer.write(project, [("nothing to see", "ok")])
    _elsewhere(writer, tmp_path, 40, "the parser fails")
    assert _search(config_dir, cache, "parser", mine.parent) == []


def test_scoped_search_of_a_project_without_sessions_finds_nothing(
    writer: SessionWriter, config_dir: Path, cache: Path, tmp_path: Path
) -> None:
    _elsewhere(writer, tmp_path, 3, "the parser fails")
    assert _search(config_dir, cache, "parser", tmp_path / "-no-such-project") == []


def test_scoped_search_skips_a_session_whose_file_is_gone(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    gone, kept = (writer.write(project, [("the parser fails", "ok")]) for _ in range(2))
    assert len(_search(config_dir, cache, "parser", None)) == 2  # both indexed
    gone.unlink()  # after the refresh: the index still lists it
    index = SearchIndex(cache / INDEX_NAME)
    try:
        matches = search_query.run_query(index.db, "parser", frozenset({kept.parent.name}), 20)
    finally:
        index.close()
    assert [match.session_id for match in matches] == [kept.stem]


def test_a_scope_of_every_project_ranks_as_all_does(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path, tmp_path: Path
) -> None:
    writer.write(project, [("parser parser", "ok")])
    _elsewhere(writer, tmp_path, 6, "the parser fails")
    everything = frozenset(path.name for path in projects_dir(config_dir).iterdir())
    root = projects_dir(config_dir)
    every = search_sessions(["parser"], projects_root=root, cache_dir=cache, scope=everything)
    assert every.matches == search_sessions(["parser"], projects_root=root, cache_dir=cache).matches


# The candidates' specification: every matching row, newest first, those of the scope kept,
# read in batches until ``limit`` + spare sessions are covered (at most ``_CANDIDATES`` rows);
# when those rows cover too few, the newest row below them of each further session, until enough.


def _specified(db: sqlite3.Connection, query: str, scope: frozenset[str], limit: int) -> list[Any]:
    project = dict(db.execute("SELECT id, project FROM files"))
    every = db.execute(
        "SELECT c.rowid, bm25(chunks), r.file_id, r.ts, r.role FROM chunks AS c"
        " JOIN rows AS r ON r.id = c.rowid WHERE chunks MATCH ? ORDER BY c.rowid DESC",
        (query,),
    ).fetchall()
    kept = [row for row in every if project[row[2]] in scope]
    wanted = limit + search_query._SPARE_FILES
    window = kept[: search_query._CANDIDATES]
    found: list[Any] = []
    while len({row[2] for row in found}) < wanted and window[len(found) :]:
        found += window[len(found) : len(found) + search_query._BATCH]
    files = {row[2] for row in found}
    if len(files) >= wanted or len(found) < search_query._CANDIDATES:
        return found
    for row in kept[len(found) :]:
        if len(files) >= wanted:
            break
        if row[2] not in files:
            files.add(row[2])
            found.append(row)
    return found


_ROWS = st.lists(
    st.tuples(st.integers(0, 39), st.sampled_from(["parser", "parser parser", "other"])),
    min_size=1,
    max_size=300,
)


@settings(max_examples=100, deadline=None)
@given(
    rows=_ROWS,
    projects=st.integers(1, 40),
    chosen=st.sets(st.integers(0, 39), min_size=1, max_size=40),
    limit=st.integers(1, 6),
    recent_rows=st.sampled_from([1, 8, 2048]),
    short_match=st.sampled_from([1, 16, 1024]),
    candidates=st.sampled_from([2, 7, 4000]),
)
def test_scoped_candidates_are_the_scopes_newest_matching_rows(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[int, str]],
    projects: int,
    chosen: set[int],
    limit: int,
    recent_rows: int,
    short_match: int,
    candidates: int,
) -> None:
    """Files are spread over ``projects`` projects; rows of files come in any order."""
    index = SearchIndex(tmp_path_factory.mktemp("index") / INDEX_NAME)
    db = index.db
    try:
        for file_id in range(40):
            db.execute(
                "INSERT INTO files VALUES (?, ?, ?, ?, NULL, NULL, 0, 0, 0, x'', x'')",
                (file_id, f"/f{file_id}", f"p{file_id % projects}", f"s{file_id}"),
            )
        for rowid, (file_id, text) in enumerate(rows, start=1):
            db.execute("INSERT INTO rows VALUES (?, ?, ?, 'user')", (rowid, file_id, f"t{rowid}"))
            db.execute("INSERT INTO chunks(rowid, text) VALUES (?, ?)", (rowid, text))
        scope = frozenset(f"p{number % projects}" for number in chosen)
        with (
            mock.patch.object(search_query, "_RECENT_ROWS", recent_rows),
            mock.patch.object(search_query, "_SHORT_MATCH", short_match),
            mock.patch.object(search_query, "_CANDIDATES", candidates),
        ):
            found = search_query._candidates(db, "parser", scope, limit)
            specified = _specified(db, "parser", scope, limit)
        assert found == specified
    finally:
        index.close()


@pytest.mark.parametrize("scoped", [True, False], ids=["scoped", "all"])
def test_an_older_session_is_found_behind_long_sessions_that_fill_the_candidate_rows(
    writer: SessionWriter,
    project: Path,
    config_dir: Path,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    scoped: bool,
) -> None:
    monkeypatch.setattr(search_query, "_CANDIDATES", 20)
    old = writer.write(project, [("how do we deploy this", "ok")])
    big = writer.write(project, [(f"deploy step {n}", f"deploy done {n}") for n in range(30)])
    found = _search(config_dir, cache, "deploy", old.parent if scoped else None)
    assert sorted(found) == sorted([old.stem, big.stem])


def test_a_first_index_numbers_rows_in_the_order_of_the_sessions_modification_times(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    paths = [writer.write(project, [(f"parser {n}", "ok")]) for n in range(6)]
    for age, path in enumerate(paths):  # on disk, the first written is the newest
        os.utime(path, ns=(1_700_000_000_000_000_000 - age * 10**9,) * 2)
    _search(config_dir, cache, "parser", None)
    index = SearchIndex(cache / INDEX_NAME)
    try:
        order = [
            path
            for (path,) in index.db.execute(
                "SELECT f.path FROM files AS f JOIN rows AS r ON r.file_id = f.id"
                " GROUP BY f.id ORDER BY min(r.id)"
            )
        ]
    finally:
        index.close()
    assert order == [str(path) for path in reversed(paths)]


@pytest.mark.parametrize(
    "span", [0, 32768], ids=["rows-looked-up-one-by-one", "one-pass-over-span"]
)
def test_every_match_shown_has_its_snippet(
    writer: SessionWriter,
    project: Path,
    config_dir: Path,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    span: int,
) -> None:
    monkeypatch.setattr(search_query, "_SNIPPET_SPAN", span)
    for number in range(3):
        writer.write(project, [(f"parser number {number}", "ok"), ("filler", "more filler")])
    result = search_sessions(["parser"], projects_root=projects_dir(config_dir), cache_dir=cache)
    shown = sorted(match.snippet[slice(*match.highlights[0])] for match in result.matches)
    assert (len(result.matches), shown) == (3, ["parser"] * 3)
