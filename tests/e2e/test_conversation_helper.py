"""The helper that reads a recorded request back as turns (no client needed)."""

from __future__ import annotations

from typing import Any

from tests.support.conversation import conversation_of


def _use(tool_id: str) -> dict[str, Any]:
    block = {"type": "tool_use", "id": tool_id, "name": "Bash", "input": {"command": "true"}}
    return {"role": "assistant", "content": [block]}


def _result(tool_id: str) -> dict[str, Any]:
    block = {"type": "tool_result", "tool_use_id": tool_id, "content": "ok"}
    return {"role": "user", "content": [block]}


def test_conversation_drops_injected_context() -> None:
    messages: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>"}],
        },
        {"role": "system", "content": "# Environment"},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": [{"type": "text", "text": "reply to: hello"}]},
    ]

    seen = conversation_of(messages)

    assert (seen.user_texts, seen.assistant_texts) == (["hello"], ["reply to: hello"])


def test_conversation_accepts_a_tool_use_answered_by_its_result() -> None:
    seen = conversation_of([_use("t1"), _result("t1")])

    assert seen.unpaired_tools() == []


def test_conversation_flags_a_tool_use_separated_from_its_result() -> None:
    seen = conversation_of([_use("t1"), {"role": "user", "content": "other turn"}, _result("t1")])

    assert seen.unpaired_tools() == ["t1"]


def test_conversation_flags_a_result_without_its_tool_use() -> None:
    seen = conversation_of([{"role": "user", "content": "hi"}, _result("t9")])

    assert seen.unpaired_tools() == ["t9"]


def test_conversation_reports_texts_seen_twice() -> None:
    seen = conversation_of([{"role": "user", "content": "hi"}, {"role": "user", "content": "hi"}])

    assert seen.duplicated_texts() == ["hi"]
