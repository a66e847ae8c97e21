"""The FTS5 index behind `roam cf`: incremental, never stale, never fails on query syntax."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.paths import projects_dir
from session_roam.engine.sessions.search import quoted_query, search_sessions
from session_roam.engine.sessions.search_index import INDEX_NAME, SCHEMA_VERSION, SearchIndex
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter


def _ids(config_dir: Path, cache: Path, *words: str) -> list[str]:
    result = search_sessions(list(words), projects_root=projects_dir(config_dir), cache_dir=cache)
    return [match.session_id for match in result.matches]


def test_search_finds_user_and_assistant_text(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    asked = writer.write(project, [("configure the rsync mirror", "done")])
    answered = writer.write(project, [("hi", "use a zeppelin")])
    assert _ids(config_dir, cache, "rsync") == [asked.stem]
    assert _ids(config_dir, cache, "zeppelin") == [answered.stem]


def test_search_highlights_the_matched_word(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    writer.write(project, [("please rotate the keys", "ok")])
    result = search_sessions(["rotate"], projects_root=projects_dir(config_dir), cache_dir=cache)
    (match,) = result.matches
    start, end = match.highlights[0]
    assert match.snippet[start:end] == "rotate"


def test_search_reads_only_appended_bytes(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("alpha", "beta")])
    root = projects_dir(config_dir)
    search_sessions(["alpha"], projects_root=root, cache_dir=cache)
    before = path.stat().st_size
    writer.append(path, [("gamma", "delta")])
    result = search_sessions(["gamma"], projects_root=root, cache_dir=cache)
    assert [m.session_id for m in result.matches] == [path.stem]
    assert result.refreshed.bytes_read == path.stat().st_size - before
    assert result.refreshed.files_rewritten == 0


def test_search_reindexes_a_rewritten_file_whole(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("oldword here", "x")])
    root = projects_dir(config_dir)
    search_sessions(["oldword"], projects_root=root, cache_dir=cache)
    path.write_bytes(writer.rows(path.stem, str(project), [("newword here", "y"), ("more", "z")]))
    result = search_sessions(["newword"], projects_root=root, cache_dir=cache)
    assert result.refreshed.files_rewritten == 1
    assert [m.session_id for m in result.matches] == [path.stem]
    assert _ids(config_dir, cache, "oldword") == []


def test_search_never_returns_a_deleted_session(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("ephemeral", "x")])
    assert _ids(config_dir, cache, "ephemeral") == [path.stem]
    path.unlink()
    assert _ids(config_dir, cache, "ephemeral") == []


def test_search_waits_for_a_torn_last_line(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("start", "x")])
    full = writer.rows(path.stem, str(project), [("finishedword", "y")])
    with path.open("ab") as handle:
        handle.write(full[:40])
    assert _ids(config_dir, cache, "finishedword") == []
    with path.open("ab") as handle:
        handle.write(full[40:])
    assert _ids(config_dir, cache, "finishedword") == [path.stem]


def test_search_quotes_a_query_fts5_rejects(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("the foo-bar module", "x")])
    result = search_sessions(['foo-bar"'], projects_root=projects_dir(config_dir), cache_dir=cache)
    assert [m.session_id for m in result.matches] == [path.stem]
    assert result.query == quoted_query(['foo-bar"'])


def test_search_accepts_fts5_syntax(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    first = writer.write(project, [("apples", "x")])
    second = writer.write(project, [("pears", "x")])
    assert sorted(_ids(config_dir, cache, "apples OR pears")) == sorted([first.stem, second.stem])


def test_search_refuses_an_empty_keyword(config_dir: Path, cache: Path) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        search_sessions(["  "], projects_root=projects_dir(config_dir), cache_dir=cache)


def test_search_rebuilds_a_corrupt_index(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("survivor", "x")])
    (cache / INDEX_NAME).write_bytes(b"this is not a database" * 100)
    assert _ids(config_dir, cache, "survivor") == [path.stem]


def test_search_limits_to_the_scope(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path, tmp_path: Path
) -> None:
    mine = writer.write(project, [("shared word", "x")])
    other = tmp_path / "other"
    other.mkdir()
    writer.write(other, [("shared word", "x")])
    result = search_sessions(
        ["shared"],
        projects_root=projects_dir(config_dir),
        cache_dir=cache,
        scope=frozenset({mine.parent.name}),
    )
    assert [m.session_id for m in result.matches] == [mine.stem]


def test_search_shows_each_session_once(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("echo one", "echo two"), ("echo three", "x")])
    assert _ids(config_dir, cache, "echo") == [path.stem]


def test_search_index_file_is_private(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    writer.write(project, [("q", "a")])
    _ids(config_dir, cache, "q")
    assert (cache / INDEX_NAME).stat().st_mode & 0o077 == 0


def test_search_index_skips_conflict_copies(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("copied", "x")])
    copy = path.with_name(f"{path.stem}.sync-conflict-20260301-101010-ABCDEFG.jsonl")
    copy.write_bytes(path.read_bytes())
    assert _ids(config_dir, cache, "copied") == [path.stem]


def test_search_index_refuses_a_future_schema(cache: Path) -> None:
    db = sqlite3.connect(cache / INDEX_NAME)
    db.execute("PRAGMA user_version = 99")
    db.close()
    index = SearchIndex(cache / INDEX_NAME)
    assert index.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    index.close()


def test_search_index_indexes_appended_bytes_once_across_processes(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("one", "two")])
    root = projects_dir(config_dir)
    first, second = SearchIndex(cache / INDEX_NAME), SearchIndex(cache / INDEX_NAME)
    first.refresh(root)
    writer.append(path, [("three", "four")])
    first.refresh(root)
    second.refresh(root)
    assert first.db.execute("SELECT count(*) FROM rows").fetchone()[0] == 4
    first.close()
    second.close()


def test_search_reindexes_a_same_size_rewrite(
    writer: SessionWriter, project: Path, config_dir: Path, cache: Path
) -> None:
    path = writer.write(project, [("alphaword", "x")])
    root = projects_dir(config_dir)
    search_sessions(["alphaword"], projects_root=root, cache_dir=cache)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"alphaword", b"omegaword"))
    result = search_sessions(["omegaword"], projects_root=root, cache_dir=cache)
    assert result.refreshed.files_rewritten == 1
    assert [m.session_id for m in result.matches] == [path.stem]


_INDEX = "session_roam.engine.sessions.search_extract"  # where session files are opened


def _refuse_opening(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Opening ``path`` is refused, as for another user's file (root would read it)."""
    from session_roam.engine.core.safefs import open_nofollow as real

    def refuse(target: Path | str, flags: int, *args: int) -> int:
        if str(target) == str(path):
            raise PermissionError(13, "Permission denied", str(target))
        return real(target, flags, *args)

    monkeypatch.setattr(f"{_INDEX}.open_nofollow", refuse)


def test_search_names_a_session_it_could_not_open(
    writer: SessionWriter,
    project: Path,
    config_dir: Path,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = writer.write(project, [("the heron waits", "ok")])
    _refuse_opening(monkeypatch, path)
    result = search_sessions(["heron"], projects_root=projects_dir(config_dir), cache_dir=cache)
    assert (result.matches, result.unreadable) == ((), (str(path),))


def test_search_reads_a_session_once_it_can_be_opened_again(
    writer: SessionWriter,
    project: Path,
    config_dir: Path,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = writer.write(project, [("the heron waits", "ok")])
    _refuse_opening(monkeypatch, path)
    assert _ids(config_dir, cache, "heron") == []
    from session_roam.engine.core.safefs import open_nofollow

    monkeypatch.setattr(f"{_INDEX}.open_nofollow", open_nofollow)  # readable again
    assert _ids(config_dir, cache, "heron") == [path.stem]


def test_search_leaves_out_unreadable_sessions_of_other_projects(
    writer: SessionWriter,
    project: Path,
    config_dir: Path,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = writer.write(project, [("the heron waits", "ok")])
    _refuse_opening(monkeypatch, path)
    result = search_sessions(
        ["heron"],
        projects_root=projects_dir(config_dir),
        cache_dir=cache,
        scope=frozenset({"-another-project"}),
    )
    assert result.unreadable == ()
