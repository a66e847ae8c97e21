"""The summary cache: ls reads it, and it re-reads only what changed, from the old end when a
file was only appended to; never trusted over the files themselves."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from hypothesis import given
from hypothesis import strategies as st

from session_roam.engine.core.paths import projects_dir
from session_roam.engine.core.store import list_sessions
from session_roam.engine.sessions import summary_read
from session_roam.engine.sessions.listing import SessionSummary, summarize
from session_roam.engine.sessions.pathmap import PathMap
from session_roam.engine.sessions.summary_cache import SummaryCache
from session_roam.engine.sessions.summary_list import list_summaries

if TYPE_CHECKING:
    import pytest

    from tests.engine.sessions_fixtures import SessionWriter


def _cache(tmp_path: Path) -> SummaryCache:
    return SummaryCache(tmp_path / "summaries.sqlite")


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every (file, offset) the cache reads from, from now on."""
    seen: list[tuple[str, int]] = []
    real = summary_read.read_into

    def spy(path: Path | str, fold: summary_read.Fold, offset: int = 0) -> object:
        seen.append((Path(path).name, offset))
        return real(path, fold, offset)

    monkeypatch.setattr("session_roam.engine.sessions.summary_cache.read_into", spy)
    return seen


def test_a_second_listing_reads_no_unchanged_file(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    writer.write(project, [("one", "a")])
    writer.write(project, [("two", "b")])
    with _cache(tmp_path) as cache:
        assert cache.refresh(projects_dir(config_dir)).changed == 2
        reads = _reads(monkeypatch)
        again = cache.refresh(projects_dir(config_dir))
    assert (again.total, again.changed, reads) == (2, 0, [])


def test_an_appended_file_is_read_from_its_old_end(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = writer.write(project, [("first ask", "a")], title="notes")
    old_size = path.stat().st_size
    with _cache(tmp_path) as cache:
        cache.refresh(projects_dir(config_dir))
        writer.append(path, [("second ask", "b")])
        reads = _reads(monkeypatch)
        (row,) = cache.refresh(projects_dir(config_dir)).rows
    assert reads == [(path.name, old_size)]
    assert (row.title, row.first_prompt, row.last_prompt, row.turns) == (
        "notes",
        "first ask",
        "second ask",
        2,
    )


def test_a_rewritten_file_is_read_again_from_the_start(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = writer.write(project, [("first ask", "a"), ("second ask", "b")])
    with _cache(tmp_path) as cache:
        cache.refresh(projects_dir(config_dir))
        data = path.read_bytes().replace(b"first ask", b"FIRST ASK")
        path.write_bytes(data + writer.rows(path.stem, str(project), [("third", "c")]))
        reads = _reads(monkeypatch)
        (row,) = cache.refresh(projects_dir(config_dir)).rows
    assert reads == [(path.name, 0)]
    assert (row.first_prompt, row.last_prompt, row.turns) == ("FIRST ASK", "third", 3)


def test_a_line_still_being_written_is_shown_and_read_again_whole(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path
) -> None:
    path = writer.write(project, [("first ask", "a")])
    torn = writer.rows(path.stem, str(project), [("second ask", "b")]).rstrip(b"\n")
    with path.open("ab") as handle:
        handle.write(torn)
    with _cache(tmp_path) as cache:
        (row,) = cache.refresh(projects_dir(config_dir)).rows
        assert row.last_prompt == "second ask"
        with path.open("ab") as handle:
            handle.write(b"\n")
        (row,) = cache.refresh(projects_dir(config_dir)).rows
    assert (row.turns, row.last_prompt) == (2, "second ask")


def test_a_removed_session_leaves_the_cache(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path
) -> None:
    gone = writer.write(project, [("one", "a")])
    writer.write(project, [("two", "b")])
    with _cache(tmp_path) as cache:
        cache.refresh(projects_dir(config_dir))
        gone.unlink()
        rows = cache.refresh(projects_dir(config_dir)).rows
    assert [r.first_prompt for r in rows] == ["two"]


def test_a_symlinked_session_is_not_listed(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path
) -> None:
    real = writer.write(project, [("real", "a")])
    outside = tmp_path / "secret.jsonl"
    outside.write_bytes(real.read_bytes())
    (real.parent / "00000000-0000-4000-8000-000000000000.jsonl").symlink_to(outside)
    with _cache(tmp_path) as cache:
        rows = cache.refresh(projects_dir(config_dir)).rows
    assert [r.session_id for r in rows] == [real.stem]


def test_a_broken_cache_file_is_rebuilt(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path
) -> None:
    writer.write(project, [("one", "a")])
    (tmp_path / "summaries.sqlite").write_bytes(b"not a database at all" * 100)
    with _cache(tmp_path) as cache:
        rows = cache.refresh(projects_dir(config_dir)).rows
    assert [r.first_prompt for r in rows] == ["one"]
    assert os.stat(tmp_path / "summaries.sqlite").st_mode & 0o777 == 0o600


def test_ls_through_the_cache_says_what_reading_every_file_says(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    writer.write(project, [("first ask", "a"), ("second ask", "b")], title="notes")
    writer.write(project, [("other", "c")])
    cached = list_summaries(config_dir, PathMap(), cwd=None)
    direct = [summarize(f) for f in list_sessions(projects_dir(config_dir) / cached[0].project)]
    assert sorted(s.as_json()["session_id"] for s in cached) == sorted(
        s.session_id for s in direct if s
    )
    for s in cached:
        (same,) = [d for d in direct if d and d.session_id == s.session_id]
        assert s.as_json() == same.as_json()


_TEXT = st.none() | st.text(max_size=40)


@given(cwd=_TEXT, title=_TEXT, prompt=_TEXT, holder=_TEXT, running=st.booleans())
def test_json_text_is_the_json_of_as_json(
    cwd: str | None, title: str | None, prompt: str | None, holder: str | None, running: bool
) -> None:
    summary = SessionSummary(
        session_id="abc",
        path=Path("/p/abc.jsonl"),
        project="-p",
        cwd=cwd,
        local_cwd=cwd,
        title=title,
        first_prompt=prompt,
        last_prompt=prompt,
        last_activity="2026-01-01T00:00:00Z",
        mtime=1.5e9,
        turns=3,
        size=10,
        conflict_copies=1,
        lease_holder=holder,
        claude_running=running,
    )
    assert json.loads(summary.json_text()) == summary.as_json()


def test_the_session_end_hook_brings_the_cached_row_up_to_date(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    from session_roam.engine.claude.hookrun import refresh_summary
    from session_roam.engine.sessions.summary_cache import open_cache

    path = writer.write(project, [("first", "a")])
    list_summaries(config_dir, PathMap(), cwd=None)
    writer.append(path, [("second", "b")])
    refresh_summary(path)
    with open_cache() as cache:
        stored = cache._db.execute(
            "SELECT last_prompt FROM summary WHERE session_id = ?", (path.stem,)
        ).fetchall()
    assert stored == [("second",)]


def test_ls_json_straight_from_rows_is_the_json_of_the_summaries(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    from session_roam.engine.sessions.listing import LeaseFacts
    from session_roam.engine.sessions.summary_list import stream_json_texts, stream_summaries

    first = writer.write(project, [("first ask", "a"), ("second ask", "b")], title="notes")
    writer.write(project, [("other \u202e ask", "c")])
    facts = {first.stem: LeaseFacts("laptop", "desk", running=True)}
    texts = [json.loads(t) for t in stream_json_texts(config_dir, PathMap(), facts)]
    _count, summaries = stream_summaries(config_dir, PathMap())
    expected = [s.as_json() for s in summaries]
    for row in expected:
        if row["session_id"] == first.stem:
            row |= {"lease_holder": "laptop", "last_writer": "desk", "claude_running": True}
    assert texts == expected


def test_a_folder_where_the_cache_belongs_is_named_and_left_alone(tmp_path: Path) -> None:
    import pytest

    from session_roam.errors import SetupError

    planted = tmp_path / "summaries.sqlite"
    planted.mkdir()
    (planted / "keep").write_text("mine")
    with pytest.raises(SetupError, match=r"summary cache .* is a folder or a link"):
        SummaryCache(planted)
    assert (planted / "keep").read_text() == "mine"


def test_a_broken_cache_file_is_thrown_away_and_built_anew(tmp_path: Path) -> None:
    broken = tmp_path / "summaries.sqlite"
    broken.write_bytes(b"not a database at all" * 100)
    with SummaryCache(broken) as cache:
        assert cache.paths_of("no-such-session") == []
