"""Issue 22: a record past the depth or length cap is unreadable, never parsed, never lost."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from session_roam.bounds import MAX_RECORD_BYTES, MAX_RECORD_DEPTH, record_problem, too_deep
from session_roam.merge import Version, merge_versions
from session_roam.merge.records import parse_line

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=40,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(_JSON, st.integers(min_value=0, max_value=8))
def test_too_deep_agrees_with_the_real_nesting_of_any_json(value: object, limit: int) -> None:
    raw = json.dumps(value).encode()
    assert too_deep(raw, limit) == (_depth(value) > limit)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    raw = json.dumps({"text": "[" * (MAX_RECORD_DEPTH * 4)}).encode()
    assert not too_deep(raw)


def test_a_record_nested_100000_deep_is_unparseable_too_deep() -> None:
    raw = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    line = parse_line(raw, 1)
    assert (line.kind, line.reason) == ("unparseable", "too-deep")


def test_a_record_longer_than_the_cap_is_unparseable_too_long() -> None:
    raw = b'{"a":"' + b"x" * MAX_RECORD_BYTES + b'"}'
    assert record_problem(raw) == "too-long"
    assert parse_line(raw, 1).reason == "too-long"


def test_a_record_just_within_the_depth_cap_is_parsed() -> None:
    raw = b'{"uuid":"u","x":' + b"[" * (MAX_RECORD_DEPTH - 1) + b"]" * (MAX_RECORD_DEPTH - 1) + b"}"
    assert parse_line(raw, 1).kind == "row"


def test_a_file_that_holds_every_version_keeps_its_too_deep_record_byte_exact() -> None:
    row = b'{"type":"user","uuid":"u1","parentUuid":null,"timestamp":"t"}\n'
    deep = b"[" * 50_000 + b"]" * 50_000 + b"\n"
    outcome = merge_versions([Version("main", row + deep), Version("copy", row)])
    assert outcome.data == row + deep


def test_a_merge_sets_a_too_deep_record_aside_with_its_bytes_and_reason() -> None:
    row = b'{"type":"user","uuid":"u1","parentUuid":null,"timestamp":"t1"}\n'
    mine = b'{"type":"user","uuid":"u2","parentUuid":"u1","timestamp":"t2"}\n'
    theirs = b'{"type":"user","uuid":"u3","parentUuid":"u1","timestamp":"t3"}\n'
    deep = b"[" * 50_000 + b"]" * 50_000
    outcome = merge_versions(
        [Version("main", row + mine + deep + b"\n"), Version("c", row + theirs)]
    )
    (aside,) = outcome.set_aside
    assert (aside.label, aside.line_number, aside.reason, aside.raw) == (
        "main",
        3,
        "too-deep",
        deep,
    )
    assert outcome.report.unparseable_lines == 1
