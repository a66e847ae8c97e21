"""Replies that make the real client write a session's companions (plan, tasks, file history).

A stand-in responder for ``FakeMessagesApi`` that understands a few prompt markers and
otherwise answers like ``decide_reply``:

- ``WRITE <path> <text>``: a ``Write`` tool call (the client snapshots the file first when
  file checkpointing is on: ``file-history/<session>/``);
- ``EDIT <path> <old> <new>``: an ``Edit`` tool call;
- ``TASK <subject>``: a ``TaskCreate`` tool call (``tasks/<session>/<n>.json``);
- ``PLAN <text>``: in plan mode, a ``Write`` of the plan file the client named in its
  reminder (``plans/<slug>.md``, the slug recorded in the session's rows).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final

from tests.support.fake_api import Reply, ToolUseBlock, decide_reply, last_user_text

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["COMPANION_ENV", "COMPANION_TOOLS", "companion_responder"]

#: What the client needs to write file history under ``-p`` (2.1.331).
COMPANION_ENV: Final = {"CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING": "1"}
COMPANION_TOOLS: Final = ("Write", "Edit", "TaskCreate", "Read")
_PLAN_FILE_RE: Final = re.compile(r"create your plan at (/\S+?\.md)")


def _tool(serial: int, name: str, tool_input: Mapping[str, Any]) -> Reply:
    tag = f"{name.lower()}{serial}"
    return Reply(f"msg_{tag}", (ToolUseBlock(f"toolu_{tag}", name, dict(tool_input)),), "tool_use")


def _answered_tool(messages: Sequence[Mapping[str, Any]]) -> bool:
    last = messages[-1] if messages else {}
    content = last.get("content")
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    )


def companion_responder(messages: Sequence[Mapping[str, Any]], serial: int) -> Reply:
    if _answered_tool(messages):
        return decide_reply(messages, serial)
    words = last_user_text(messages).split(" ", 3)
    verb = words[0]
    if verb == "WRITE" and len(words) >= 3:
        return _tool(serial, "Write", {"file_path": words[1], "content": " ".join(words[2:])})
    if verb == "EDIT" and len(words) == 4:
        return _tool(
            serial, "Edit", {"file_path": words[1], "old_string": words[2], "new_string": words[3]}
        )
    if verb == "TASK":
        subject = " ".join(words[1:])
        return _tool(serial, "TaskCreate", {"subject": subject, "description": subject})
    if verb == "PLAN":
        found = _PLAN_FILE_RE.search(json.dumps(list(messages)))
        if found is not None:
            return _tool(
                serial, "Write", {"file_path": found.group(1), "content": " ".join(words[1:])}
            )
    return decide_reply(messages, serial)
