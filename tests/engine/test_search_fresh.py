"""`roam watch` keeps the search index current, so a warm `roam cf` is the lookup alone.

The watcher refreshes only the files it saw change (no walk) and records itself; a query
trusts the index without walking only while that watcher is alive, watches the same folder,
and was already watching when the last full walk started.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.paths import projects_dir
from session_roam.engine.sessions import refresh_search_index
from session_roam.engine.sessions.search import search_sessions
from session_roam.engine.sessions.search_index import INDEX_NAME, SearchIndex
from session_roam.engine.sessions.search_scan import LineReader, worth_parsing

if TYPE_CHECKING:
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter


def _search(config_dir: Path, cache: Path, word: str) -> tuple[list[str], int]:
    """(session ids found, files the refresh before the query looked at)."""
    result = search_sessions([word], projects_root=projects_dir(config_dir), cache_dir=cache)
    return [m.session_id for m in result.matches], result.refreshed.files_seen


def _watched(config_dir: Path, cache: Path, *paths: Path) -> None:
    assert refresh_search_index(projects_dir(config_dir), list(paths), cache) is not None


def test_the_watcher_indexes_what_it_saw_change_without_a_walk(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    seen = writer.write(project, [("hello", "hi")])
    unseen = writer.write(project, [("hello", "hi")])
    _search(config_dir, cache, "hello")  # builds the index
    writer.append(seen, [("zeppelin over the mirror", "ok")])
    writer.append(unseen, [("zeppelin under the mirror", "ok")])
    _watched(config_dir, cache, seen)
    index = SearchIndex(cache / INDEX_NAME)
    hits = index.db.execute("SELECT count(*) FROM chunks WHERE chunks MATCH 'zeppelin'")
    assert hits.fetchone()[0] == 1
    index.close()


def test_a_warm_query_behind_a_live_watcher_does_not_walk(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    first = writer.write(project, [("hello", "hi")])
    _search(config_dir, cache, "hello")
    _watched(config_dir, cache, first)  # the watcher starts after that walk
    assert _search(config_dir, cache, "hello")[1] == 1  # so this query still walks
    later = writer.write(project, [("zeppelin", "ok")])
    assert _search(config_dir, cache, "zeppelin") == ([], 0)  # trusted: no walk at all
    _watched(config_dir, cache, later)
    assert _search(config_dir, cache, "zeppelin") == ([later.stem], 0)


def test_the_watcher_drops_a_deleted_session(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("zeppelin", "ok")])
    _search(config_dir, cache, "zeppelin")
    _watched(config_dir, cache, path)
    _search(config_dir, cache, "zeppelin")
    path.unlink()
    _watched(config_dir, cache, path)
    assert _search(config_dir, cache, "zeppelin") == ([], 0)


def _record_watcher(cache: Path, **changes: object) -> None:
    index = SearchIndex(cache / INDEX_NAME)
    value = index.db.execute("SELECT value FROM state WHERE key = 'watcher'").fetchone()[0]
    fields = dict(zip(("pid", "start", "since", "root"), value.split("\t", 3), strict=True))
    fields |= {key: str(change) for key, change in changes.items()}
    index.db.execute(
        "UPDATE state SET value = ? WHERE key = 'watcher'", ("\t".join(fields.values()),)
    )
    index.close()


@pytest.mark.parametrize(
    "change", [{"pid": 2**22 + 7}, {"start": "1"}, {"root": "/elsewhere/projects"}]
)
def test_a_query_walks_when_the_watcher_is_gone_or_watches_elsewhere(
    writer: SessionWriter,
    project: Path,
    config_dir: Path,
    cache: Path,
    change: dict[str, object],
) -> None:
    first = writer.write(project, [("hello", "hi")])
    _search(config_dir, cache, "hello")
    _watched(config_dir, cache, first)
    _search(config_dir, cache, "hello")
    _record_watcher(cache, **change)
    later = writer.write(project, [("zeppelin", "ok")])
    assert _search(config_dir, cache, "zeppelin") == ([later.stem], 2)


def test_the_watcher_leaves_a_folder_without_an_index_alone(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("hello", "hi")])
    assert refresh_search_index(projects_dir(config_dir), [path], cache) is None
    assert list(cache.iterdir()) == []


def _lines(data: bytes, cap: int, monkeypatch: pytest.MonkeyPatch) -> tuple[list[bytes], int]:
    monkeypatch.setattr("session_roam.engine.sessions.search_scan._READ", 4)
    reader = LineReader(io.BytesIO(data), cap=cap)
    return list(reader), reader.end


def test_line_reader_keeps_a_torn_last_line_for_later(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _lines(b"one\ntwo\nthr", 100, monkeypatch) == ([b"one", b"two"], 8)


def test_line_reader_drops_a_line_over_the_cap_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"a\n" + b"x" * 50 + b"\nb\n"
    assert _lines(data, 10, monkeypatch) == ([b"a", b"b"], len(data))


def test_a_tool_result_row_is_not_parsed() -> None:
    line = b'{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t"}]}}'
    assert not worth_parsing(line)


def test_a_tool_result_row_with_text_beside_it_is_parsed() -> None:
    line = (
        b'{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t"},'
        b'{"type":"text","text":"and a note"}]}}'
    )
    assert worth_parsing(line)


def test_a_tool_result_row_whose_result_holds_text_is_not_parsed() -> None:
    line = (
        b'{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t",'
        b'"content":"out"}]},"toolUseResult":{"content":[{"type":"text","text":"out"}]}}'
    )
    assert not worth_parsing(line)


def test_a_row_with_the_tool_result_before_its_message_is_parsed_when_in_doubt() -> None:
    line = (
        b'{"type":"user","toolUseResult":{"stdout":"x"},"message":{"content":'
        b'[{"type":"tool_result","tool_use_id":"t"},{"type":"text","text":"and a note"}]}}'
    )
    assert worth_parsing(line)


def test_a_line_inside_a_buffer_is_judged_on_its_own_bytes() -> None:
    result = b'{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t"}]}}'
    note = b'{"type":"user","message":{"content":[{"type":"text","text":"a note"}]}}'
    data = result + b"\n" + note + b"\n"
    assert not worth_parsing(data, 0, len(result))
    assert worth_parsing(data, len(result) + 1, len(data) - 1)


def test_a_warm_search_leaves_the_index_as_it_was(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    import os

    from session_roam.engine.sessions import warm_search

    first = writer.write(project, [("hello heron", "hi")])
    _search(config_dir, cache, "hello")
    _watched(config_dir, cache, first)
    _search(config_dir, cache, "hello")  # the walk after the watcher started
    db = cache / INDEX_NAME
    before = {p.name: os.stat(p).st_mtime_ns for p in cache.iterdir()}
    found = warm_search(str(cache), str(projects_dir(config_dir)), ["heron"], 20)
    assert [m.session_id for m in found or []] == [first.stem]
    after = {p.name: os.stat(p).st_mtime_ns for p in cache.iterdir() if p.name in before}
    assert after.get(db.name) == before[db.name]  # nothing written, nothing checkpointed
