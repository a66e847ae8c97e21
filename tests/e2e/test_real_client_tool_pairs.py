"""Tool pairs after a merge, as the real client sends them (issue 13, item 6).

A copy that holds a tool call and the prompt typed after it, and a copy that holds only the
call's result: merged, the real client must send the call answered by its result and then the
prompt. When the result exists in no copy, the merge writes what Claude Code 2.1.331 writes for
an interrupted call; without it the client silently drops the call from what the model sees
(measured: the tool_use vanishes and the prompt is glued to the one before it).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from session_roam.merge import Version, merge_versions
from session_roam.merge.pairs import INTERRUPTED_RESULT
from tests.support.conversation import Event, ToolResult, conversation_of

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.claude import ClaudeDriver, ClaudeHome, MakeHome
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e


def _holds(row: dict[str, Any], kind: str) -> bool:
    content = (
        row.get("message", {}).get("content") if isinstance(row.get("message"), dict) else None
    )
    return isinstance(content, list) and any(b.get("type") == kind for b in content)


def _rows(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines()]


def _dump(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row, separators=(",", ":")).encode() + b"\n" for row in rows)


def _turn(
    rows: list[dict[str, Any]], holder: dict[str, Any], parent: str, text: str
) -> list[dict[str, Any]]:
    """A prompt and its reply hanging off ``parent``, shaped like the client's own rows."""
    prompt = next(r for r in rows if r.get("type") == "user" and r["message"]["content"] == "one")
    typed = {**prompt, "uuid": str(uuid.uuid4()), "parentUuid": parent}
    typed["message"] = {"role": "user", "content": text}
    typed["promptId"] = str(uuid.uuid4())
    reply = {**holder, "uuid": str(uuid.uuid4()), "parentUuid": typed["uuid"]}
    reply["message"] = {**holder["message"], "id": f"msg_{uuid.uuid4().hex}"}
    reply["message"]["content"] = [{"type": "text", "text": f"answered: {text}"}]
    return [typed, reply]


def _split_copies(
    claude: ClaudeDriver, home: ClaudeHome, cwd: Path, *, keep_result: bool
) -> tuple[str, bytes, bytes]:
    """Copy x: history, the tool_use, then a new prompt. Copy y: history and the result, or,
    when the result is lost everywhere, a turn of its own made while the copies were apart."""
    session = claude.new(home, cwd, "one").session_id
    claude.resume(home, cwd, session, "RUN: echo from-the-tool", allowed_tools=["Bash"])
    path = home.session_file(cwd, session)
    rows = _rows(path.read_bytes())
    at = next(i for i, r in enumerate(rows) if _holds(r, "tool_use"))
    holder = rows[at]
    result = next(r for r in rows[at:] if _holds(r, "tool_result"))
    history = [r for r in rows[:at] if r.get("type") != "last-prompt"]
    x = _dump([*history, holder, *_turn(rows, holder, holder["uuid"], "after the call")])
    own = _turn(rows, holder, holder["parentUuid"], "on the other copy")
    y = _dump([*history, result] if keep_result else [*history, *own])
    return session, x, y


def _resume_merged(
    claude: ClaudeDriver,
    fake_api: FakeMessagesApi,
    home: ClaudeHome,
    cwd: Path,
    found: tuple[str, bytes, bytes],
) -> tuple[Event, ...]:
    session, x, y = found
    merged = merge_versions([Version("x", x), Version("y", y)]).data
    home.session_file(cwd, session).write_bytes(merged)
    mark = fake_api.mark()
    claude.resume(home, cwd, session, "and now")
    return conversation_of(fake_api.turns_since(mark)[0].messages).events


@pytest.mark.parametrize(
    ("keep_result", "sent_result"),
    [(True, "from-the-tool"), (False, INTERRUPTED_RESULT)],
    ids=["result-in-the-other-copy", "result-lost-everywhere"],
)
def test_real_client_sends_the_merged_call_answered_then_the_prompt_after_it(
    claude: ClaudeDriver,
    fake_api: FakeMessagesApi,
    make_home: MakeHome,
    project_cwd: Path,
    keep_result: bool,
    sent_result: str,
) -> None:
    home = make_home("a")
    found = _split_copies(claude, home, project_cwd, keep_result=keep_result)
    events = _resume_merged(claude, fake_api, home, project_cwd, found)
    conversation = conversation_of(fake_api.turns_since(0)[-1].messages)
    assert conversation.unpaired_tools() == []
    assert [e.text for e in events if isinstance(e, ToolResult)] == [sent_result]
    assert "after the call" in conversation.user_texts
