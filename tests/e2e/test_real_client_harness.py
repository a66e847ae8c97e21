"""The harness itself: the real client talks to the stand-in and persists a session we can find."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.conversation import conversation_of

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.claude import ClaudeDriver, MakeHome
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e


def test_harness_new_turn_writes_session_file_and_continue_sends_both_turns(
    claude: ClaudeDriver, fake_api: FakeMessagesApi, make_home: MakeHome, project_cwd: Path
) -> None:
    home = make_home("a")

    first = claude.new(home, project_cwd, "hello")
    session_file = home.session_file(project_cwd, first.session_id)
    mark = fake_api.mark()
    second = claude.cont(home, project_cwd, "second")

    assert first.text == "reply to: hello"
    assert session_file.is_file()
    assert second.session_id == first.session_id
    [turn] = fake_api.turns_since(mark)
    assert conversation_of(turn.messages).user_texts == ["hello", "second"]
    assert conversation_of(turn.messages).assistant_texts == ["reply to: hello"]
    # With non-essential traffic off, 2.1.331 makes model calls only: no probes, no token counts.
    assert [f"{r.method} {r.path}" for r in fake_api.requests if not r.is_turn] == []


def test_harness_bash_tool_call_runs_and_returns_its_result(
    claude: ClaudeDriver, fake_api: FakeMessagesApi, make_home: MakeHome, project_cwd: Path
) -> None:
    home = make_home("a")

    run = claude.new(home, project_cwd, "RUN: echo from-a", allowed_tools=["Bash"])

    assert run.text == "tool said: from-a"
    final = conversation_of(fake_api.turns[-1].messages)
    assert final.tool_commands == ["echo from-a"]
    assert final.tool_result_ids == final.tool_use_ids
    assert final.unpaired_tools() == []
