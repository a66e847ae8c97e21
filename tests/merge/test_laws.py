"""The laws a merge obeys whatever the sessions look like (hypothesis)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from session_roam.merge import (
    Version,
    merge_versions,
    parse_line,
    resume_chain,
    serialise_line,
    split_lines,
)
from tests.merge.sessions import (
    SessionWriter,
    broken_tool_pairs,
    forked_sessions,
    rewound_sessions,
    rows_of,
    sessions,
    split_pair_sessions,
    uuids_of,
)

LAWS = settings(max_examples=150, deadline=None)


def _merged(versions: list[Version]) -> Version:
    outcome = merge_versions(versions)
    return Version(label="+".join(v.label for v in versions), data=outcome.data)


@LAWS
@given(sessions())
def test_merge_is_idempotent(versions: list[Version]) -> None:
    once = _merged(versions)
    assert merge_versions([once, once]).data == once.data


@LAWS
@given(st.data())
def test_merge_ignores_input_order(data: st.DataObject) -> None:
    versions = data.draw(sessions())
    shuffled = data.draw(st.permutations(versions))
    assert merge_versions(shuffled).data == merge_versions(versions).data


def _shape(data: bytes) -> tuple[list[str], list[tuple[str, str]]]:
    """What associativity preserves: the timeline and every record with its parent.

    Not the bytes: metadata lines without uuid or timestamp that two versions appended after
    the same turn are placed by which copy of that turn is fullest, which depends on grouping.
    """
    records = sorted((str(row["uuid"]), str(row.get("parentUuid"))) for row in rows_of(data))
    return resume_chain(data, through_compaction=True), records


@LAWS
@given(sessions(min_versions=3, max_versions=3))
def test_merge_is_associative(versions: list[Version]) -> None:
    a, b, c = versions
    left = merge_versions([_merged([a, b]), c]).data
    right = merge_versions([a, _merged([b, c])]).data
    assert _shape(left) == _shape(right)


@LAWS
@given(sessions())
def test_merge_loses_no_record(versions: list[Version]) -> None:
    outcome = merge_versions(versions)
    kept = set(split_lines(outcome.data)) | {item.raw for item in outcome.set_aside}
    kept_uuids = set(uuids_of(outcome.data)) | {
        str(row["uuid"]) for row in rows_of(b"\n".join(item.raw for item in outcome.set_aside))
    }
    lost = []
    for version in versions:
        for number, raw in enumerate(split_lines(version.data), 1):
            line = parse_line(raw, number)
            missing_line = line.kind == "unparseable" and raw not in kept
            missing_row = line.kind == "row" and line.uuid not in kept_uuids
            if missing_line or missing_row:
                lost.append(raw)
    assert lost == []


@LAWS
@given(sessions())
def test_records_round_trip(versions: list[Version]) -> None:
    lines = list(itertools.chain.from_iterable(split_lines(v.data) for v in versions))
    assert [serialise_line(parse_line(raw, n)) for n, raw in enumerate(lines, 1)] == lines


@LAWS
@given(sessions())
def test_merge_keeps_parents_first(versions: list[Version]) -> None:
    rows = rows_of(merge_versions(versions).data)
    position = {row["uuid"]: index for index, row in enumerate(rows)}
    late = [
        row["uuid"]
        for index, row in enumerate(rows)
        if position.get(row.get("parentUuid"), -1) > index
    ]
    assert late == []


@LAWS
@given(st.one_of(sessions(), split_pair_sessions()))
def test_merge_keeps_tool_pairs_adjacent_on_the_resumed_chain(versions: list[Version]) -> None:
    outcome = merge_versions(versions)
    if outcome.report.kept_as_is is None:  # a version kept byte for byte is not the merge's
        assert broken_tool_pairs(outcome.data) == []


def _off_chain(data: bytes) -> list[str]:
    """Rows the resumed chain misses, other than a tool_result hanging off a row on it."""
    chain = set(resume_chain(data))
    return [
        str(row["uuid"])
        for row in rows_of(data)
        if row["uuid"] not in chain
        and not (row.get("type") == "user" and row.get("parentUuid") in chain)
    ]


@LAWS
@given(forked_sessions())
def test_merge_puts_both_writers_of_a_take_over_fork_on_the_resumed_chain(
    version: Version,
) -> None:
    assert _off_chain(merge_versions([version]).data) == []


@LAWS
@given(forked_sessions())
def test_merge_of_a_repaired_fork_neither_changes_nor_rewrites_it(version: Version) -> None:
    repaired = merge_versions([version]).data
    again = merge_versions([Version("repaired", repaired)])
    assert (again.changed, again.data) == (False, repaired)


@LAWS
@given(forked_sessions())
def test_merge_of_a_take_over_fork_loses_no_record(version: Version) -> None:
    outcome = merge_versions([version])
    assert set(uuids_of(version.data)) <= set(uuids_of(outcome.data))


@LAWS
@given(rewound_sessions())
def test_merge_leaves_intended_branches_untouched(version: Version) -> None:
    outcome = merge_versions([version])
    assert (outcome.changed, outcome.data) == (False, version.data)


@LAWS
@given(rewound_sessions(), st.integers(min_value=0, max_value=9000))
def test_merge_with_a_copy_keeps_the_parents_of_intended_branches(
    version: Version, second: int
) -> None:
    leaf = resume_chain(version.data)[-1]
    copies = []
    for namespace in (20, 21):
        writer = SessionWriter(namespace=namespace, lines=version.data.splitlines(), tail=leaf)
        writer.turn(second + namespace, f"went on alone {namespace}", [1, 0])
        copies.append(Version(f"copy {namespace}", writer.data()))
    before = {row["uuid"]: row.get("parentUuid") for row in rows_of(version.data)}
    after = {row["uuid"]: row.get("parentUuid") for row in rows_of(merge_versions(copies).data)}
    assert {uuid: after[uuid] for uuid in before} == before


@LAWS
@given(forked_sessions())
def test_merge_joins_a_late_writer_that_goes_on_after_the_repair(version: Version) -> None:
    repaired = merge_versions([version]).data
    late = [uuid for uuid in uuids_of(repaired) if uuid.split("-")[-1].startswith("0015")]
    if not late:
        return  # this late writer wrote nothing
    writer = SessionWriter(namespace=99, lines=repaired.splitlines(), tail=late[-1])
    writer.row("assistant", 9999, {"id": "msg_later", "content": [{"type": "text"}]})
    assert _off_chain(merge_versions([Version("later", writer.data())]).data) == []
