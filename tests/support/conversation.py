"""Reads the conversation out of a recorded Messages API request, so assertions read like specs.

The client wraps what the user typed with injected context (``<system-reminder>`` text blocks,
``role: system`` messages); those are dropped here. What remains is the sequence of events the
model saw: user text, assistant text, tool calls and tool results, in the order sent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "AssistantText",
    "Conversation",
    "Event",
    "ToolResult",
    "ToolUse",
    "UserText",
    "conversation_of",
]


@dataclass(frozen=True, slots=True)
class UserText:
    text: str


@dataclass(frozen=True, slots=True)
class AssistantText:
    text: str


@dataclass(frozen=True, slots=True)
class ToolUse:
    id: str
    name: str
    command: str


@dataclass(frozen=True, slots=True)
class ToolResult:
    tool_use_id: str
    text: str


Event = UserText | AssistantText | ToolUse | ToolResult


def _result_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def _events_of(role: str, content: Any) -> list[Event]:
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    if not isinstance(content, list):
        return []
    events: list[Event] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            text = str(block.get("text", ""))
            if text.lstrip().startswith("<system-reminder>"):
                continue
            events.append(UserText(text) if role == "user" else AssistantText(text))
        elif kind == "tool_use":
            tool_input = block.get("input") or {}
            command = str(tool_input.get("command", "")) if isinstance(tool_input, dict) else ""
            events.append(ToolUse(str(block.get("id")), str(block.get("name")), command))
        elif kind == "tool_result":
            events.append(
                ToolResult(
                    str(block.get("tool_use_id")), _result_text(block.get("content")).strip()
                )
            )
    return events


@dataclass(frozen=True, slots=True)
class Conversation:
    """The events of one request, oldest first."""

    events: tuple[Event, ...]

    @property
    def user_texts(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, UserText)]

    @property
    def assistant_texts(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, AssistantText)]

    @property
    def tool_use_ids(self) -> list[str]:
        return [e.id for e in self.events if isinstance(e, ToolUse)]

    @property
    def tool_result_ids(self) -> list[str]:
        return [e.tool_use_id for e in self.events if isinstance(e, ToolResult)]

    @property
    def tool_commands(self) -> list[str]:
        return [e.command for e in self.events if isinstance(e, ToolUse)]

    def duplicated_texts(self) -> list[str]:
        """Texts (user or assistant) the model saw more than once."""
        texts = [e.text for e in self.events if isinstance(e, UserText | AssistantText)]
        return sorted(text for text, count in Counter(texts).items() if count > 1)

    def unpaired_tools(self) -> list[str]:
        """Tool ids whose use is not immediately answered by its result, or the reverse.

        The API rejects a conversation where a tool_use is not followed by its tool_result in the
        next user message, so a merge that splits or reorders a pair breaks resume outright.
        """
        problems: list[str] = []
        for index, event in enumerate(self.events):
            if isinstance(event, ToolUse):
                rest = self.events[index + 1 :]
                nxt = next((e for e in rest if not isinstance(e, ToolUse)), None)
                results = [e for e in rest if isinstance(e, ToolResult)]
                if not any(r.tool_use_id == event.id for r in results) or not isinstance(
                    nxt, ToolResult
                ):
                    problems.append(event.id)
            elif isinstance(event, ToolResult):
                before = self.events[:index]
                if not any(isinstance(e, ToolUse) and e.id == event.tool_use_id for e in before):
                    problems.append(event.tool_use_id)
        return problems

    def position(self, text: str) -> int:
        """Index of the first user or assistant text equal to ``text`` (ValueError if absent)."""
        for index, event in enumerate(self.events):
            if isinstance(event, UserText | AssistantText) and event.text == text:
                return index
        raise ValueError(f"{text!r} is not in the conversation")


def conversation_of(messages: Sequence[Mapping[str, Any]]) -> Conversation:
    """The model-visible events of a request's ``messages`` array."""
    events: list[Event] = []
    for message in messages:
        role = str(message.get("role"))
        if role not in ("user", "assistant"):
            continue  # injected environment context, not a turn
        events.extend(_events_of(role, message.get("content")))
    return Conversation(tuple(events))
