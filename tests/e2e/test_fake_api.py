"""The stand-in Messages API on its own (no client): fast checks of its scripted replies."""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.fake_api import FakeMessagesApi, ToolUseBlock, decide_reply

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def api() -> Iterator[FakeMessagesApi]:
    with FakeMessagesApi() as server:
        yield server


def _post(api: FakeMessagesApi, path: str, body: dict[str, Any]) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 -- loopback http URL
        api.base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "x-api-key": "sk-test"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 -- loopback URL
        return response.status, response.read().decode()


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def test_fake_api_replies_to_last_user_text() -> None:
    reply = decide_reply([_user("<system-reminder>x</system-reminder>"), _user("hello")], 1)

    assert reply.stop_reason == "end_turn"
    assert [getattr(block, "text", None) for block in reply.blocks] == ["reply to: hello"]


def test_fake_api_run_marker_asks_for_a_bash_call() -> None:
    reply = decide_reply([_user("please RUN: echo hi")], 1)

    [block] = reply.blocks
    assert reply.stop_reason == "tool_use"
    assert isinstance(block, ToolUseBlock)
    assert (block.name, block.input["command"]) == ("Bash", "echo hi")


def test_fake_api_tool_result_gets_a_closing_text() -> None:
    result = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t", "content": "hi\n"}],
    }

    reply = decide_reply([_user("RUN: echo hi"), result], 2)

    assert reply.stop_reason == "end_turn"
    assert [getattr(block, "text", None) for block in reply.blocks] == ["tool said: hi"]


def test_fake_api_streams_events_in_the_order_the_client_expects(api: FakeMessagesApi) -> None:
    status, text = _post(
        api, "/v1/messages?beta=true", {"model": "m", "stream": True, "messages": [_user("hi")]}
    )

    events = [
        line.removeprefix("event: ") for line in text.splitlines() if line.startswith("event:")
    ]
    assert status == 200
    assert events == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_fake_api_records_turns_without_the_api_key(api: FakeMessagesApi) -> None:
    _post(api, "/v1/messages?beta=true", {"model": "m", "stream": True, "messages": [_user("hi")]})

    [turn] = api.turns
    assert turn.query == "beta=true"
    assert turn.messages == [_user("hi")]
    assert "x-api-key" not in turn.headers


def test_fake_api_counts_tokens(api: FakeMessagesApi) -> None:
    status, text = _post(api, "/v1/messages/count_tokens?beta=true", {"messages": [_user("hi")]})

    assert status == 200
    assert json.loads(text)["input_tokens"] > 0
    assert api.turns == []


def test_fake_api_answers_probes_of_the_base_url(api: FakeMessagesApi) -> None:
    with urllib.request.urlopen(api.base_url, timeout=5) as response:  # noqa: S310 -- loopback
        assert response.status == 200
