"""Parsing and re-parenting one line."""

from __future__ import annotations

import json

from session_roam.merge import parse_line, reparent, serialise_line, split_lines

ROW = (
    b'{"parentUuid":"p-1","isSidechain":false,"type":"user",'
    b'"message":{"role":"user","content":"h\xc3\xa9"},"uuid":"u-1"}'
)


def test_parse_line_reads_the_tree_fields() -> None:
    line = parse_line(ROW, 1)
    assert (line.kind, line.uuid, line.parent, line.prompt_like) == ("row", "u-1", "p-1", True)


def test_parse_line_marks_tool_results_as_not_a_prompt() -> None:
    raw = b'{"parentUuid":"p","type":"user","message":{"content":[{"type":"tool_result"}]},'
    raw += b'"uuid":"u"}'
    assert parse_line(raw, 1).cut_candidate is False


def test_parse_line_treats_rows_without_uuid_as_metadata() -> None:
    line = parse_line(b'{"type":"last-prompt","leafUuid":"u-9"}', 1)
    assert (line.kind, line.leaf) == ("meta", "u-9")


def test_parse_line_never_raises_on_garbage() -> None:
    reasons = [parse_line(raw, 1).reason for raw in (b'{"a":', b"\xff", b"[1]", b"", b"  ")]
    assert reasons == ["unparseable", "not-utf8", "not-an-object", "blank", "blank"]


def test_serialise_line_returns_the_bytes_it_was_read_from() -> None:
    assert serialise_line(parse_line(ROW, 1)) == ROW


def test_reparent_changes_only_the_parent_value() -> None:
    assert reparent(ROW, "p-2") == ROW.replace(b'"p-1"', b'"p-2"')


def test_reparent_replaces_a_null_parent() -> None:
    raw = ROW.replace(b'"p-1"', b"null")
    assert json.loads(reparent(raw, "p-2"))["parentUuid"] == "p-2"


def test_reparent_ignores_a_nested_parent_key_that_comes_first() -> None:
    raw = b'{"data":{"parentUuid":"inner"},"parentUuid":"outer","uuid":"u"}'
    assert json.loads(reparent(raw, "new")) == {
        "data": {"parentUuid": "inner"},
        "parentUuid": "new",
        "uuid": "u",
    }


def test_split_lines_keeps_a_torn_tail() -> None:
    assert split_lines(b"a\nb\ntorn") == [b"a", b"b", b"torn"]
