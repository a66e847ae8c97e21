"""merge_versions, one behaviour at a time, on small hand-built sessions."""

from __future__ import annotations

import json

import pytest

from session_roam.errors import MergeError
from session_roam.merge import Version, merge_versions, resume_chain, split_lines
from tests.merge.sessions import SessionWriter, rows_of, uuids_of


def _base() -> SessionWriter:
    base = SessionWriter(namespace=1)
    base.turn(1, "hello", [0])
    return base


def _fork(base: SessionWriter, namespace: int, second: int, prompt: str) -> SessionWriter:
    writer = SessionWriter(namespace=namespace, lines=list(base.lines), tail=base.tail)
    writer.turn(second, prompt, [1])
    return writer


def _pair() -> tuple[Version, Version]:
    base = _base()
    a = _fork(base, 10, 20, "on a")
    b = _fork(base, 11, 10, "on b")
    return Version("a", a.data()), Version("b", b.data())


def _prompts(data: bytes) -> list[str]:
    rows = {str(row["uuid"]): row for row in rows_of(data)}
    return [
        str(rows[u]["message"]["content"])
        for u in resume_chain(data)
        if isinstance(rows[u]["message"].get("content"), str)
    ]


def test_merge_refuses_an_empty_list() -> None:
    with pytest.raises(MergeError):
        merge_versions([])


def test_merge_leaves_a_single_version_unchanged() -> None:
    a, _ = _pair()
    outcome = merge_versions([a])
    assert (outcome.changed, outcome.data) == (False, a.data)


def test_merge_of_identical_versions_is_unchanged() -> None:
    a, _ = _pair()
    assert merge_versions([a, Version("copy", a.data)]).changed is False


def test_merge_returns_the_newer_file_when_the_other_is_its_prefix() -> None:
    a, _ = _pair()
    stale = Version("stale", a.data[: a.data.index(b"\n", len(a.data) // 2) + 1])
    assert merge_versions([stale, a]).data == a.data


def test_merge_reports_a_pure_prefix_case() -> None:
    a, _ = _pair()
    report = merge_versions([Version("stale", a.data[:100]), a]).report
    assert (report.pure_prefix, report.kept_as_is, report.superseded) == (True, "a", ("stale",))


def test_merge_puts_both_machines_turns_in_time_order() -> None:
    a, b = _pair()
    assert _prompts(merge_versions([a, b]).data) == ["hello", "on b", "on a"]


def test_merge_reparents_the_later_turn_onto_the_earlier_turns_leaf() -> None:
    a, b = _pair()
    report = merge_versions([a, b]).report
    assert len(report.reparented) == 1


def test_merge_ends_with_a_last_prompt_at_the_merged_leaf() -> None:
    a, b = _pair()
    merged = merge_versions([a, b]).data
    last = [json.loads(raw) for raw in split_lines(merged) if b'"last-prompt"' in raw][-1]
    assert last["leafUuid"] == resume_chain(merged)[-1]


def test_merge_adds_a_last_prompt_when_the_last_one_is_stale() -> None:
    base = _base()
    a = _fork(base, 10, 10, "on a")  # the earlier turn ends the file order of its own version
    b = _fork(base, 11, 20, "on b")
    b.lines = [line for line in b.lines if b'"last-prompt"' not in line or b'"on b"' not in line]
    outcome = merge_versions([Version("a", a.data()), Version("b", b.data())])
    assert outcome.report.last_prompt_added is True


def test_merge_does_not_invent_a_last_prompt() -> None:
    a, b = _pair()
    strip = [
        Version(
            v.label, b"".join(r + b"\n" for r in split_lines(v.data) if b"last-prompt" not in r)
        )
        for v in (a, b)
    ]
    assert b"last-prompt" not in merge_versions(strip).data


def test_merge_without_last_prompt_still_resumes_the_whole_timeline() -> None:
    a, b = _pair()
    strip = [
        Version(
            v.label, b"".join(r + b"\n" for r in split_lines(v.data) if b"last-prompt" not in r)
        )
        for v in (a, b)
    ]
    assert _prompts(merge_versions(strip).data) == ["hello", "on b", "on a"]


def test_merge_sets_torn_lines_aside() -> None:
    a, b = _pair()
    torn = Version("b", b.data + b'{"parentUuid":"x","ty')
    outcome = merge_versions([a, torn])
    assert [(s.label, s.reason) for s in outcome.set_aside] == [("b", "unparseable")]


def test_merge_sets_non_utf8_lines_aside() -> None:
    a, b = _pair()
    bad = Version("b", b.data + b"\xff\xfe\n")
    assert [s.reason for s in merge_versions([a, bad]).set_aside] == ["not-utf8"]


def test_merge_ends_every_line_with_a_newline() -> None:
    a, b = _pair()
    no_newline = Version("b", b.data.rstrip(b"\n"))
    assert merge_versions([a, no_newline]).data.endswith(b"\n")


def test_merge_writes_each_uuid_once() -> None:
    a, b = _pair()
    uuids = uuids_of(merge_versions([a, b]).data)
    assert len(uuids) == len(set(uuids))


def _variant_pair() -> tuple[Version, Version]:
    a, b = _pair()
    first_row = next(raw for raw in split_lines(b.data) if b'"uuid"' in raw)
    changed = first_row.replace(b'"content":"hello"', b'"content":"hello, edited"')
    return a, Version("b", b.data.replace(first_row, changed))


def test_merge_keeps_the_losing_variant_aside() -> None:
    outcome = merge_versions(list(_variant_pair()))
    assert [s.reason for s in outcome.set_aside] == ["duplicate-uuid-variant"]


def test_merge_reports_what_the_variants_differ_in() -> None:
    conflict = merge_versions(list(_variant_pair())).report.conflicts[0]
    assert "root['message']['content']" in conflict.diff


def test_merge_picks_the_same_variant_in_any_order() -> None:
    a, b = _variant_pair()
    assert merge_versions([a, b]).data == merge_versions([b, a]).data


def test_merge_treats_a_parent_only_difference_as_one_record() -> None:
    a, b = _pair()
    merged = Version("merged", merge_versions([a, b]).data)
    assert merge_versions([merged, a, b]).set_aside == ()


def test_merge_keeps_the_latest_title() -> None:
    a, b = _pair()
    titles = [
        json.loads(r) for r in split_lines(merge_versions([a, b]).data) if b"custom-title" in r
    ]
    assert titles[-1]["customTitle"] == "title-10"  # a's turn is the later one


def test_merge_keeps_identical_metadata_lines_that_repeat() -> None:
    a, b = _pair()
    merged = merge_versions([a, b]).data
    base_title = b'{"type":"custom-title","customTitle":"title-1","sessionId"'
    assert sum(1 for raw in split_lines(merged) if raw.startswith(base_title)) == 1


def test_merge_joins_three_versions_into_one_timeline() -> None:
    base = _base()
    versions = [
        Version(f"v{n}", _fork(base, 10 + n, second, f"turn {second}").data())
        for n, second in enumerate((30, 10, 20))
    ]
    merged = merge_versions(versions).data
    assert _prompts(merged) == ["hello", "turn 10", "turn 20", "turn 30"]


def test_merge_report_is_json_serialisable() -> None:
    a, b = _variant_pair()
    report = merge_versions([a, b]).report
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()


def test_merge_report_summary_is_one_line() -> None:
    a, b = _pair()
    assert "\n" not in merge_versions([a, b]).report.summary()
