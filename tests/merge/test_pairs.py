"""Tool pairs stay whole: a tool_result follows its tool_use on the merged chain (issue 13.6)."""

from __future__ import annotations

import json
from typing import Any

from session_roam.merge import Version, merge_versions, resume_chain
from session_roam.merge.pairs import INTERRUPTED_RESULT, close_tool_pairs
from tests.merge.sessions import SessionWriter, rows_of


def _tool_use(tool_id: str) -> dict[str, Any]:
    block = {"type": "tool_use", "id": tool_id, "name": "Bash", "input": {}}
    return {"id": f"msg_{tool_id}", "content": [block]}


def _result(tool_id: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id}]}


def _shared() -> SessionWriter:
    writer = SessionWriter(namespace=1)
    writer.turn(1, "one", [0])
    writer.row("user", 3, {"role": "user", "content": "run it"})
    return writer


def _split_pair() -> tuple[Version, Version, str]:
    """One copy has the tool_use and the next prompt, the other only the tool_result."""
    shared = _shared()
    x = SessionWriter(namespace=2, lines=list(shared.lines), tail=shared.tail)
    holder = x.row("assistant", 4, _tool_use("toolu_1"))
    x.row("user", 6, {"role": "user", "content": "next prompt"})
    x.row("assistant", 7, {"id": "msg_next", "content": [{"type": "text"}]})
    y = SessionWriter(namespace=3, lines=list(shared.lines), tail=shared.tail)
    y.row("user", 5, _result("toolu_1"), parent=holder)
    return Version("x", x.data()), Version("y", y.data()), holder


def _chain_contents(data: bytes) -> list[Any]:
    rows = {row["uuid"]: row for row in rows_of(data)}
    return [rows[uuid]["message"]["content"] for uuid in resume_chain(data)]


def test_merge_puts_a_result_from_the_other_copy_right_after_its_tool_use() -> None:
    x, y, _holder = _split_pair()
    contents = _chain_contents(merge_versions([x, y]).data)
    at = next(i for i, c in enumerate(contents) if isinstance(c, list) and "tool_use" in str(c))
    assert contents[at + 1][0]["type"] == "tool_result"


def test_merge_reports_the_result_it_moved() -> None:
    x, y, _holder = _split_pair()
    assert merge_versions([x, y]).report.tool_pairs_closed >= 1


def _dangling_mid_chain() -> bytes:
    writer = _shared()
    writer.row("assistant", 4, _tool_use("toolu_2"))
    writer.row("user", 6, {"role": "user", "content": "next prompt"})
    writer.row("assistant", 7, {"id": "msg_next", "content": [{"type": "text"}]})
    return writer.data()


def test_close_tool_pairs_writes_the_clients_interrupted_result_for_a_lost_one() -> None:
    data, closed = close_tool_pairs(_dangling_mid_chain())
    results = [row for row in rows_of(data) if row.get("toolDenialKind") == "interrupted"]
    assert (closed, results[0]["message"]["content"][0]["content"]) == (2, INTERRUPTED_RESULT)


def test_close_tool_pairs_puts_the_made_up_result_on_the_chain() -> None:
    data, _closed = close_tool_pairs(_dangling_mid_chain())
    contents = _chain_contents(data)
    assert [c[0]["type"] for c in contents if isinstance(c, list)][-3:-1] == [
        "tool_use",
        "tool_result",
    ]


def test_close_tool_pairs_makes_the_same_row_twice() -> None:
    once, _ = close_tool_pairs(_dangling_mid_chain())
    assert close_tool_pairs(_dangling_mid_chain())[0] == once


def test_close_tool_pairs_leaves_a_whole_file_alone() -> None:
    writer = _shared()
    writer.turn(5, "with tools", [2, 1, 0])
    data = writer.data()
    assert close_tool_pairs(data) == (data, 0)


def test_close_tool_pairs_leaves_a_call_at_the_end_of_the_chain_alone() -> None:
    writer = _shared()
    writer.row("assistant", 4, _tool_use("toolu_3"))
    data = writer.data()
    assert close_tool_pairs(data) == (data, 0)


def test_close_tool_pairs_leaves_an_unanswered_call_on_an_abandoned_branch_alone() -> None:
    writer = _shared()
    fork = writer.tail
    writer.row("assistant", 4, _tool_use("toolu_4"))
    writer.tail = fork
    writer.row("assistant", 6, {"id": "msg_other", "content": [{"type": "text"}]})
    data = writer.data()
    assert close_tool_pairs(data) == (data, 0)


def test_made_up_result_copies_the_holders_session_fields() -> None:
    data, _closed = close_tool_pairs(_dangling_mid_chain())
    made = next(row for row in rows_of(data) if row.get("toolDenialKind") == "interrupted")
    holder = next(row for row in rows_of(data) if row["uuid"] == made["parentUuid"])
    assert (made["sessionId"], made["sourceToolAssistantUUID"]) == (
        holder["sessionId"],
        holder["uuid"],
    )


def test_made_up_result_is_valid_json_on_one_line() -> None:
    data, _closed = close_tool_pairs(_dangling_mid_chain())
    assert all(json.loads(line) for line in data.splitlines())
