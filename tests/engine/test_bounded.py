"""Issue 22: ls, cf, cs and cr read a session line by line, bounded, whatever a line holds."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from session_roam.bounds import MAX_RECORD_BYTES
from session_roam.engine.core.bounded import Skipped, iter_lines, load_record
from session_roam.engine.resume.safe import session_cwd
from session_roam.engine.sessions.listing import conversation_preview
from session_roam.engine.sessions.pathmap import PathMap
from session_roam.engine.sessions.pick import custom_title, pick_session
from session_roam.engine.sessions.search import search_sessions
from session_roam.engine.sessions.summary_list import list_summaries

SID: Final = "0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40"
DEEP: Final = b'{"type":"user","cwd":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"


def _row(text: str) -> bytes:
    row = {
        "parentUuid": None,
        "type": "user",
        "uuid": "11111111-1111-4111-8111-111111111111",
        "cwd": "/work/p",
        "sessionId": SID,
        "timestamp": "2026-03-01T10:00:00.000Z",
        "message": {"role": "user", "content": text},
    }
    return (json.dumps(row) + "\n").encode()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "claude" / "projects" / "-work-p").mkdir(parents=True)
    return tmp_path / "claude"


def _session(home: Path, data: bytes) -> Path:
    path = home / "projects" / "-work-p" / f"{SID}.jsonl"
    path.write_bytes(data)
    return path


def test_iter_lines_drops_a_line_over_the_cap_and_counts_it() -> None:
    skipped = Skipped()
    handle = io.BytesIO(b"a\n" + b"x" * 100 + b"\nb\n")
    assert list(iter_lines(handle, skipped, cap=10)) == [b"a", b"b"]
    assert skipped.too_long == 1


def test_iter_lines_complete_only_stops_before_a_torn_tail() -> None:
    handle = io.BytesIO(b"a\nb\ntorn")
    assert list(iter_lines(handle, complete_only=True)) == [b"a", b"b"]
    assert handle.tell() == 4


def test_iter_lines_complete_only_stops_before_a_torn_over_long_tail() -> None:
    handle = io.BytesIO(b"a\n" + b"x" * 100)
    assert list(iter_lines(handle, cap=10, complete_only=True)) == [b"a"]
    assert handle.tell() == 2


def test_load_record_of_a_too_deep_line_is_none_and_counted() -> None:
    skipped = Skipped()
    assert load_record(DEEP, skipped) is None
    assert skipped.too_deep == 1


def test_ls_survives_a_record_nested_100000_deep(home: Path) -> None:
    _session(home, _row("hello") + DEEP)
    (summary,) = list_summaries(home, PathMap())
    assert summary.first_prompt == "hello"


def test_cf_survives_a_record_nested_100000_deep(home: Path, tmp_path: Path) -> None:
    _session(home, DEEP + _row("zeppelin"))
    result = search_sessions(["zeppelin"], projects_root=home / "projects", cache_dir=tmp_path)
    assert [m.session_id for m in result.matches] == [SID]


def test_cr_picks_and_reads_a_session_with_a_record_nested_100000_deep(home: Path) -> None:
    path = _session(home, DEEP + _row("hello"))
    project = path.parent
    assert pick_session(project, project.parent, SID).session_id == SID
    assert session_cwd(path) == Path("/work/p")
    assert custom_title(path) is None
    assert "hello" in conversation_preview(path)


def test_a_line_over_the_length_cap_is_skipped_by_ls_and_cf(home: Path, tmp_path: Path) -> None:
    huge = b'{"type":"user","message":{"content":"' + b"q" * MAX_RECORD_BYTES + b'"}}\n'
    _session(home, huge + _row("zeppelin"))
    (summary,) = list_summaries(home, PathMap())
    assert summary.first_prompt == "zeppelin"
    result = search_sessions(["zeppelin"], projects_root=home / "projects", cache_dir=tmp_path)
    assert [m.session_id for m in result.matches] == [SID]


@pytest.mark.parametrize("chunk", [1, 5, 7, 22, 23, 4096])
def test_the_take_over_search_finds_the_line_across_any_chunk_boundary(
    tmp_path: Path, chunk: int
) -> None:
    from session_roam.engine.conflicts.forks import TAKEOVER_NEEDLE, _holds_needle

    path = tmp_path / "t.jsonl"
    path.write_bytes(b"x" * 11 + TAKEOVER_NEEDLE + b"y" * 9)
    assert _holds_needle(path, chunk)
    path.write_bytes(b"x" * 11 + TAKEOVER_NEEDLE[:-1] + b"y" * 9)
    assert not _holds_needle(path, chunk)


_HOSTILE_LINE = st.one_of(
    st.binary(max_size=80),
    st.sampled_from([DEEP.rstrip(b"\n"), b"[" * 5000, b'{"type":"user","x":' + b"{" * 3000]),
    st.builds(
        lambda text, kind: json.dumps(
            {"type": kind, "cwd": text, "customTitle": text, "message": {"content": text}}
        ).encode(),
        st.text(max_size=40),
        st.sampled_from(["user", "assistant", "custom-title"]),
    ),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_HOSTILE_LINE, max_size=6))
def test_no_reader_raises_on_any_session_content(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "claude"
        (home / "projects" / "-work-p").mkdir(parents=True)
        path = _session(home, b"\n".join(lines))
        list_summaries(home, PathMap())
        conversation_preview(path)
        session_cwd(path)
        custom_title(path)
        search_sessions(["x"], projects_root=home / "projects", cache_dir=Path(scratch))
