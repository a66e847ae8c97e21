"""Tool pairs stay whole: after a merge every tool_use is answered before the chain goes on.

The Messages API rejects a ``tool_use`` that is not followed by its ``tool_result``, and Claude
Code 2.1.331 copes with one in the middle of a chain by dropping the call from what it sends:
the model never learns the tool ran (measured with the real client). A merge can produce that
shape when one copy holds the result and the other the rest of the turn, so the merged file
is checked after it is assembled:

* a result written before its tool_use, or after the row that continues the chain, is moved to
  just after the reply that holds the tool_use (its parent set to that row);
* a result that exists in no version is written the way Claude Code writes it for a call the
  session ended in the middle of (``toolDenialKind: interrupted``, the client's own sentence),
  under a uuid derived from the call, so two merges make the same row;
* the row that continues the chain is re-attached to the last result.

A tool_use at the very end of the chain is left alone: its call may still be running on the
machine that made it, and on resume the client itself writes the interrupted result.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from typing import Any, Final

from session_roam.merge.records import Line, parse_line, reparent, split_lines

__all__ = ["INTERRUPTED_RESULT", "close_tool_pairs"]

#: What Claude Code 2.1.331 writes as the result of a call the session ended in the middle of.
INTERRUPTED_RESULT: Final = (
    "[Tool call interrupted: the session ended before this call's result was recorded, so its "
    "outcome is unknown. Check whether it took effect before relying on it or running it again.]"
)
_NAMESPACE: Final = uuidlib.UUID("5e551075-0a11-4d2e-9b1e-7001c0de0000")
_COPIED: Final = ("userType", "entrypoint", "cwd", "sessionId", "version", "gitBranch")
_CONTEXT_LINES: Final = 64  # lines before ``start`` read too: the reply a result belongs to


def _blocks(raw: bytes, kind: str) -> list[dict[str, Any]]:
    obj = json.loads(raw.decode("utf-8"))
    message = obj.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == kind]


def _message_id(raw: bytes) -> str | None:
    message = json.loads(raw.decode("utf-8")).get("message")
    value = message.get("id") if isinstance(message, dict) else None
    return value if isinstance(value, str) else None


def _synthetic(holder: bytes, tool_id: str) -> bytes:
    """The row the client writes for an interrupted call, derived from the holder row."""
    source = json.loads(holder.decode("utf-8"))
    block = {
        "type": "tool_result",
        "content": INTERRUPTED_RESULT,
        "is_error": True,
        "tool_use_id": tool_id,
    }
    row: dict[str, Any] = {
        "parentUuid": source["uuid"],
        "isSidechain": False,
        "type": "user",
        "message": {"role": "user", "content": [block]},
        "uuid": str(uuidlib.uuid5(_NAMESPACE, f"{source['uuid']}:{tool_id}")),
        "timestamp": source.get("timestamp", ""),
        "toolUseResult": INTERRUPTED_RESULT,
        "toolDenialKind": "interrupted",
        "sourceToolAssistantUUID": source["uuid"],
    }
    row |= {key: source[key] for key in _COPIED if key in source}
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Pass:
    """One walk over the lines; mutable on purpose, private."""

    def __init__(self, raws: list[bytes], lines: list[Line]) -> None:
        self.raws = raws
        self.lines = lines
        self.out: list[bytes] = []
        self.taken: set[int] = set()  # result lines already written out of their place
        self.results: dict[str, int] = {}  # tool_use id -> index of its first result row
        self.holder_at: dict[str, int] = {}  # tool_use id -> index of the row holding it
        self.group: list[int] = []  # the rows of the reply being written
        self.pending: dict[str, int] = {}  # its tool_use ids not yet answered -> holder index
        self.closed = 0
        self.answered_at: dict[int, list[str]] = {}  # index -> tool_use ids it is the result of
        self.held_at: dict[int, list[str]] = {}  # index -> tool_use ids of that row
        for index, line in enumerate(lines):
            if not _main(line):
                continue
            if line.type == "user" and not line.prompt_like:
                for block in _blocks(bytes(line.raw), "tool_result"):
                    tool_id = block.get("tool_use_id")
                    if isinstance(tool_id, str) and tool_id not in self.results:
                        self.results[tool_id] = index
                        self.answered_at.setdefault(index, []).append(tool_id)
            elif line.type == "assistant":
                for block in _blocks(bytes(line.raw), "tool_use"):
                    tool_id = block.get("id")
                    if isinstance(tool_id, str) and tool_id not in self.holder_at:
                        self.holder_at[tool_id] = index
                        self.held_at.setdefault(index, []).append(tool_id)

    def close_group(self, follower: int | None) -> str | None:
        """Write the pending results; the uuid the follower must hang off, if it must move.

        ``follower`` is the index of the row that ends the reply (None at the end of the file).
        Results are only made up when that row continues the reply: on a branch Claude Code
        made on purpose, an unanswered call is left as the client left it.
        """
        group = {self.lines[i].uuid for i in self.group}
        continues = follower is not None and self.lines[follower].parent in group
        last: str | None = None
        for tool_id, holder in self.pending.items():
            holder_uuid = self.lines[holder].uuid
            assert holder_uuid is not None  # noqa: S101 - a holder is a row
            index = self.results.get(tool_id)
            if index is not None and index not in self.taken:
                self.taken.add(index)
                raw = bytes(self.raws[index])
                if self.lines[index].parent != holder_uuid:
                    raw = reparent(raw, holder_uuid)
            elif index is None and continues:
                raw = _synthetic(bytes(self.raws[holder]), tool_id)
            else:
                continue
            self.out.append(raw)
            self.closed += 1
            last = str(json.loads(raw.decode("utf-8"))["uuid"])
        self.group, self.pending = [], {}
        return last if continues else None


def _main(line: Line) -> bool:
    return line.kind == "row" and not line.sidechain and line.uuid is not None


def _ends_reply(line: Line, raw: bytes, state: _Pass) -> bool:
    """A typed prompt, or an assistant row of another API reply, ends the reply being written."""
    if line.type == "user":
        return line.prompt_like
    if line.type != "assistant" or not state.group:
        return False
    return _message_id(raw) != _message_id(bytes(state.raws[state.group[-1]]))


def _walk(state: _Pass) -> None:
    for index, line in enumerate(state.lines):
        if index in state.taken:
            continue
        raw = bytes(state.raws[index])
        if not _main(line):
            state.out.append(raw)
            continue
        answers = [t for t in state.answered_at.get(index, ()) if t in state.holder_at]
        if answers and all(state.holder_at[t] > index for t in answers):
            continue  # before its tool_use: written when that reply is closed
        for tool_id in answers:
            state.pending.pop(tool_id, None)
        if state.group and _ends_reply(line, raw, state):
            new_parent = state.close_group(index) if state.pending else None
            state.group, state.pending = [], {}
            if new_parent is not None and new_parent != line.parent:
                raw = reparent(raw, new_parent)
                state.closed += 1
        state.out.append(raw)
        if line.type == "assistant":
            state.group.append(index)
            for tool_id in state.held_at.get(index, ()):
                state.pending[tool_id] = index
    if state.pending:
        state.close_group(None)


def close_tool_pairs(data: bytes, start: int = 0) -> tuple[bytes, int]:
    """``data`` with every tool pair whole, and how many rows were moved, added or re-attached.

    Only the lines from byte ``start`` on (plus a few before it, where their replies begin)
    are examined: the caller knows the bytes before it were already a file Claude Code wrote.
    Returns ``data`` itself when nothing needed doing.
    """
    if b'"tool_use"' not in data:
        return data, 0
    head = data.rfind(b"\n", 0, start)
    for _ in range(_CONTEXT_LINES):
        if head <= 0:
            break
        head = data.rfind(b"\n", 0, head)
    head = max(head + 1, 0)
    raws = split_lines(data[head:])
    lines = [parse_line(raw, number) for number, raw in enumerate(raws, 1)]
    state = _Pass(raws, lines)
    _walk(state)
    if not state.closed:
        return data, 0
    body = b"".join(raw + b"\n" for raw in state.out)
    if not data.endswith(b"\n"):
        body = body[:-1]
    return data[:head] + body, state.closed
