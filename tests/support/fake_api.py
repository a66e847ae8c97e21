"""A deterministic stand-in for the Anthropic Messages API, served on 127.0.0.1.

The real Claude Code client is pointed at it with ``ANTHROPIC_BASE_URL``. Every request is
recorded, because the ``messages`` array a resumed client sends is the ground truth for "what did
resume see" -- the e2e tests assert on it rather than on the session file.

Replies are derived from the conversation only, so a test can predict them:

- the last user message carries a ``tool_result`` -> text ``tool said: <result text>``, end_turn;
- the last user text contains ``RUN: <command>`` -> one ``Bash`` tool_use running ``<command>``;
- otherwise -> text ``reply to: <last user text>``.

Only the standard library is used (``ThreadingHTTPServer`` in a daemon thread, port 0).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final, Self
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

__all__ = [
    "RUN_MARKER",
    "FakeMessagesApi",
    "RecordedRequest",
    "Reply",
    "Responder",
    "TextBlock",
    "ToolUseBlock",
    "decide_reply",
    "last_user_text",
]

log = logging.getLogger(__name__)

#: A prompt containing ``RUN: <command>`` makes the stand-in ask the client to run it with Bash.
RUN_MARKER: Final = "RUN:"
_RUN_PATTERN: Final = re.compile(r"RUN:\s*(?P<command>[^\n]+)")
_MESSAGES_PATH: Final = "/v1/messages"
_COUNT_TOKENS_PATH: Final = "/v1/messages/count_tokens"
_DEFAULT_MODEL: Final = "claude-stand-in"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request the client made, with its JSON body when it had one."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: Mapping[str, Any] | None

    @property
    def is_turn(self) -> bool:
        """True for a model call (POST /v1/messages), false for token counts and probes."""
        return self.method == "POST" and self.path == _MESSAGES_PATH

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The conversation sent with a model call (empty for other requests)."""
        if self.body is None:
            return []
        found = self.body.get("messages", [])
        return list(found) if isinstance(found, list) else []


@dataclass(frozen=True, slots=True)
class TextBlock:
    text: str


@dataclass(frozen=True, slots=True)
class ToolUseBlock:
    id: str
    name: str
    input: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the stand-in answers to one model call."""

    message_id: str
    blocks: tuple[TextBlock | ToolUseBlock, ...]
    stop_reason: str


def _text_of(content: Any) -> list[str]:
    """Plain text parts of a message's content, without the client's injected reminders."""
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                text = str(block.get("text", ""))
                if not text.lstrip().startswith("<system-reminder>"):
                    texts.append(text)
    return texts


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text the user typed last (client-injected ``<system-reminder>`` blocks skipped)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        texts = _text_of(message.get("content"))
        if texts:
            return texts[-1]
    return ""


def _tool_results(content: Any) -> list[str]:
    results: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                inner = block.get("content", "")
                if isinstance(inner, list):
                    inner = "".join(
                        str(part.get("text", "")) for part in inner if isinstance(part, dict)
                    )
                results.append(str(inner).strip())
    return results


def _stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}{digest}"


def decide_reply(messages: Sequence[Mapping[str, Any]], serial: int) -> Reply:
    """The scripted answer to a conversation; ``serial`` keeps ids unique across calls."""
    tag = str(serial)
    last = messages[-1] if messages else {}
    results = _tool_results(last.get("content")) if last.get("role") == "user" else []
    if results:
        text = "tool said: " + " | ".join(results)
        return Reply(_stable_id("msg_", tag, text), (TextBlock(text),), "end_turn")
    prompt = last_user_text(messages)
    run = _RUN_PATTERN.search(prompt)
    if run is not None:
        command = run.group("command").strip()
        tool = ToolUseBlock(
            id=_stable_id("toolu_", tag, command),
            name="Bash",
            input={"command": command, "description": "Run the command the test asked for"},
        )
        return Reply(_stable_id("msg_", tag, command), (tool,), "tool_use")
    text = f"reply to: {prompt}"
    return Reply(_stable_id("msg_", tag, text), (TextBlock(text),), "end_turn")


#: Decides the answer to one model call from its ``messages`` and a per-server serial number.
Responder = Callable[[Sequence[Mapping[str, Any]], int], Reply]


def _sse(event: str, data: Mapping[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _stream(reply: Reply, model: str) -> bytes:
    """The reply as the Server-Sent Events the client parses, in the order it expects."""
    usage = {"input_tokens": 10, "output_tokens": 1}
    events = [
        _sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": reply.message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": usage,
                },
            },
        )
    ]
    for index, block in enumerate(reply.blocks):
        if isinstance(block, TextBlock):
            start: dict[str, Any] = {"type": "text", "text": ""}
            delta: dict[str, Any] = {"type": "text_delta", "text": block.text}
        else:
            start = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(dict(block.input))}
        events.append(
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            )
        )
        events.append(
            _sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        )
        events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        )
    )
    events.append(_sse("message_stop", {"type": "message_stop"}))
    return b"".join(events)


def _as_message(reply: Reply, model: str) -> dict[str, Any]:
    """The non-streaming form, for the rare call made with ``stream: false``."""
    content: list[dict[str, Any]] = []
    for block in reply.blocks:
        if isinstance(block, TextBlock):
            content.append({"type": "text", "text": block.text})
        else:
            content.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": dict(block.input)}
            )
    return {
        "id": reply.message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


@dataclass(slots=True)
class _State:
    responder: Responder
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[RecordedRequest] = field(default_factory=list)
    serial: int = 0

    def record(self, request: RecordedRequest) -> int:
        with self.lock:
            self.requests.append(request)
            self.serial += 1
            return self.serial


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries Content-Length
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake api: " + format, *args)

    def _record(self) -> tuple[RecordedRequest, int]:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Mapping[str, Any] | None = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            body = parsed if isinstance(parsed, dict) else None
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() not in _SECRET}
        request = RecordedRequest(self.command, split.path, split.query, headers, body)
        return request, self.server.state.record(request)

    def _send(self, status: int, payload: bytes, content_type: str, serial: int = 0) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        # The client stores this as each assistant row's requestId: keep it unique per call.
        self.send_header("request-id", f"req_stand_in_{serial:06d}")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _json(self, status: int, document: Mapping[str, Any]) -> None:
        self._send(status, json.dumps(document).encode(), "application/json")

    def do_POST(self) -> None:
        request, serial = self._record()
        if request.path == _COUNT_TOKENS_PATH:
            self._json(200, {"input_tokens": 10 * max(1, len(request.messages))})
        elif request.is_turn and request.body is not None:
            model = str(request.body.get("model") or _DEFAULT_MODEL)
            reply = self.server.state.responder(request.messages, serial)
            if request.body.get("stream"):
                self._send(200, _stream(reply, model), "text/event-stream", serial)
            else:
                self._json(200, _as_message(reply, model))
        else:
            self.server.unknown.append(f"{request.method} {request.path}")
            self._json(404, {"type": "error", "error": {"type": "not_found_error"}})

    def do_GET(self) -> None:
        request, _ = self._record()
        if request.path not in ("", "/"):
            self.server.unknown.append(f"{request.method} {request.path}")
        self._json(200, {})

    def do_HEAD(self) -> None:
        self.do_GET()


#: Headers never recorded, so a recorded request can be printed in a failure message.
_SECRET: Final = frozenset({"x-api-key", "authorization", "proxy-authorization"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State
    unknown: list[str]


class FakeMessagesApi:
    """The stand-in server; use as a context manager or call ``start``/``stop``.

    ``requests`` is every request so far, ``turns`` only the model calls, in arrival order.
    ``responder`` replaces the scripted replies (``decide_reply``) for tests that need others.
    """

    def __init__(self, responder: Responder = decide_reply) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State(responder)
        self._server.unknown = []
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown waits one poll; keep teardown quick
            name="fake-messages-api",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._server.state.lock:
            return list(self._server.state.requests)

    @property
    def turns(self) -> list[RecordedRequest]:
        return [request for request in self.requests if request.is_turn]

    @property
    def unknown_paths(self) -> list[str]:
        """Endpoints the client probed that the stand-in does not model (for diagnostics)."""
        return list(self._server.unknown)

    def mark(self) -> int:
        """A position in the request log; pass it to ``turns_since`` to see one run's calls."""
        return len(self.requests)

    def turns_since(self, mark: int) -> list[RecordedRequest]:
        return [request for request in self.requests[mark:] if request.is_turn]

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.requests)
