"""Forks inside one file: a take-over's fork point with branches from two writers."""

from __future__ import annotations

from session_roam.merge import Version, merge_versions, resume_chain
from session_roam.merge.forks import has_unmerged_fork, split_forks, takeover_line
from tests.merge.sessions import SessionWriter, history, late_reply_fork, rows_of, uuids_of

_SESSION = "5e55a0e0-0000-4000-8000-000000000000"


def _late_prompt_fork() -> bytes:
    """As above, but alpha, offline, typed a new prompt: it looks like an edit branch."""
    writer = history()
    writer.row("assistant", 3, {"id": "msg_three", "content": [{"type": "text"}]})
    point = writer.tail
    assert point is not None
    writer.lines.append(takeover_line(_SESSION, point, "BETA", "2026-12-06T14:02:00.000Z"))
    beta = SessionWriter(namespace=2, lines=writer.lines, tail=point)
    beta.turn(10, "four on beta", [0])
    alpha = SessionWriter(namespace=3, lines=beta.lines, tail=point)
    alpha.turn(5, "four on alpha, offline", [0])
    return alpha.data()


def _rewind() -> bytes:
    """An edit of the second prompt made on purpose: a branch with no take-over line."""
    writer = SessionWriter(namespace=1)
    writer.turn(1, "one", [0])
    fork = writer.tail
    writer.turn(2, "two", [0])
    writer.tail = fork
    writer.turn(3, "two, edited", [0])
    return writer.data()


def test_split_forks_gives_one_version_per_writer() -> None:
    data, _late = late_reply_fork()
    assert len(split_forks(data)) == 2


def test_merge_puts_the_late_reply_and_the_new_holders_turn_on_one_chain() -> None:
    data, _late = late_reply_fork()
    merged = merge_versions([Version("live", data)]).data
    assert set(resume_chain(merged)) == set(uuids_of(data))


def test_merge_answers_the_prompt_with_the_late_reply_before_the_new_holders_turn() -> None:
    data, late = late_reply_fork()
    chain = resume_chain(merge_versions([Version("live", data)]).data)
    four = next(r["uuid"] for r in rows_of(data) if r["message"]["content"] == "four on beta")
    assert chain.index(late) < chain.index(four)


def test_merge_joins_a_late_prompt_that_looks_like_an_edit() -> None:
    data = _late_prompt_fork()
    merged = merge_versions([Version("live", data)]).data
    assert set(resume_chain(merged)) == set(uuids_of(data))


def test_repaired_fork_is_no_longer_a_fork() -> None:
    data, _late = late_reply_fork()
    merged = merge_versions([Version("live", data)]).data
    assert (has_unmerged_fork(data), has_unmerged_fork(merged)) == (True, False)


def test_merging_a_repaired_fork_again_changes_nothing() -> None:
    data, _late = late_reply_fork()
    merged = merge_versions([Version("live", data)]).data
    again = merge_versions([Version("live", merged)])
    assert (again.changed, again.data) == (False, merged)


def test_merge_reports_the_branches_it_joined() -> None:
    data, _late = late_reply_fork()
    report = merge_versions([Version("live", data)]).report
    assert report.forks_split == 1
    assert "take-over branch" in report.summary()


def test_rewind_branch_without_take_over_is_left_as_it_is() -> None:
    data = _rewind()
    outcome = merge_versions([Version("live", data)])
    assert (outcome.changed, outcome.data) == (False, data)


def test_rewind_branch_before_a_take_over_point_is_left_as_it_is() -> None:
    writer = SessionWriter(namespace=9, lines=_rewind().splitlines())
    writer.tail = resume_chain(writer.data())[-1]
    writer.lines.append(takeover_line(_SESSION, writer.tail, "BETA", "2026-12-06T14:02:00.000Z"))
    writer.turn(9, "after the take-over", [0])
    data = writer.data()
    outcome = merge_versions([Version("live", data)])
    assert (outcome.changed, has_unmerged_fork(data)) == (False, False)


def test_take_over_line_is_a_line_without_uuid() -> None:
    line = takeover_line(_SESSION, "point", "BETA", "2026-12-06T14:02:00.000Z")
    assert (b"\n" not in line, b'"uuid"' not in line) == (True, True)
