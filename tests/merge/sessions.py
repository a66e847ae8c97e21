"""Build session files the way Claude Code writes them, for the merge laws and unit tests.

``SessionWriter`` appends rows to one file's worth of lines; ``sessions()`` is the hypothesis
strategy: a shared history plus two or three versions that each went on alone, with split
assistant rows, tool_use/tool_result pairs, metadata rows, torn and unknown lines.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from session_roam.merge import Version, parse_line, resume_chain, split_lines
from session_roam.merge.forks import takeover_line

__all__ = [
    "SessionWriter",
    "broken_tool_pairs",
    "diverge",
    "forked_sessions",
    "history",
    "late_reply_fork",
    "rewound_sessions",
    "rows_of",
    "sessions",
    "split_pair_sessions",
    "turn_starts",
    "uuids_of",
]

_SESSION = "5e55a0e0-0000-4000-8000-000000000000"


def _dump(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _stamp(second: int) -> str:
    minutes, seconds = divmod(second, 60)
    return f"2026-11-24T15:{minutes % 60:02d}:{seconds:02d}.{second % 1000:03d}Z"


@dataclass
class SessionWriter:
    """Appends rows; ``tail`` is the last main-chain uuid, ``namespace`` keeps uuids unique."""

    namespace: int
    lines: list[bytes] = field(default_factory=list)
    tail: str | None = None
    counter: int = 0
    prompt_id: str = ""  # 2.1.x marks the user rows of one run with one promptId

    def new_uuid(self) -> str:
        self.counter += 1
        return str(uuidlib.UUID(int=(self.namespace << 32) + self.counter))

    def row(self, kind: str, second: int, message: dict[str, Any], **extra: Any) -> str:
        uid = self.new_uuid()
        obj: dict[str, Any] = {"parentUuid": extra.pop("parent", self.tail), "isSidechain": False}
        obj |= {"type": kind, "message": message, "uuid": uid, "timestamp": _stamp(second)}
        obj |= {"sessionId": _SESSION, "version": "2.1.331", **extra}
        if kind == "user" and self.prompt_id:
            obj["promptId"] = self.prompt_id
        self.lines.append(_dump(obj))
        self.tail = uid
        return uid

    def meta(self, obj: dict[str, Any]) -> None:
        self.lines.append(_dump({**obj, "sessionId": _SESSION}))

    def turn(self, second: int, prompt: str, replies: list[int]) -> None:
        """A prompt and one reply; ``replies[i]`` tool calls on split assistant row ``i``."""
        self.meta({"type": "queue-operation", "operation": "enqueue", "content": prompt})
        self.prompt_id = f"prompt-{self.namespace}-{self.counter}"
        self.row("user", second, {"role": "user", "content": prompt})
        message_id = f"msg_{self.namespace}_{self.counter}"
        for index, tools in enumerate(replies):
            if tools == 0:
                self.row("assistant", second, {"id": message_id, "content": [{"type": "text"}]})
                continue
            ids = [f"toolu_{self.namespace}_{self.counter}_{n}" for n in range(tools)]
            holders = []
            for tool_id in ids:
                block = {"type": "tool_use", "id": tool_id, "name": "Bash", "input": {}}
                holders.append(
                    self.row("assistant", second, {"id": message_id, "content": [block]})
                )
            for holder, tool_id in zip(holders, ids, strict=True):
                result = {"type": "tool_result", "tool_use_id": tool_id, "content": str(index)}
                self.row("user", second, {"role": "user", "content": [result]}, parent=holder)
        self.meta({"type": "last-prompt", "lastPrompt": prompt, "leafUuid": self.tail})
        self.meta({"type": "custom-title", "customTitle": f"title-{self.namespace}"})

    def compact(self, second: int) -> None:
        """``/compact``: a boundary (parentUuid null) then the summary row hanging off it."""
        logical = self.tail
        self.prompt_id = f"prompt-{self.namespace}-{self.counter}"
        metadata = {"trigger": "manual", "preservedMessages": {"uuids": [logical]}}
        self.tail = None
        self.row(
            "system",
            second,
            {},
            subtype="compact_boundary",
            logicalParentUuid=logical,
            compactMetadata=metadata,
        )
        summary = {"role": "user", "content": "summary"}
        self.row("user", second, summary, isCompactSummary=True)
        self.meta({"type": "last-prompt", "lastPrompt": "/compact", "leafUuid": self.tail})

    def data(self) -> bytes:
        return b"".join(line + b"\n" for line in self.lines)


_TORN = st.sampled_from(
    [b'{"parentUuid":"x","type":"user","mess', b"\xff\xfe garbage", b"[1, 2]", b"not json"]
)
_REPLIES = st.lists(st.integers(min_value=0, max_value=2), min_size=1, max_size=3)
_TURN = st.tuples(st.integers(min_value=0, max_value=3000), _REPLIES, st.integers(0, 7))


@st.composite
def sessions(draw: st.DrawFn, min_versions: int = 2, max_versions: int = 3) -> list[Version]:
    """Versions of one session that share a history and then each went on alone."""
    base = SessionWriter(namespace=1)
    clock = 0
    for gap, replies, _ in draw(st.lists(_TURN, min_size=0, max_size=2)):
        clock += gap + 1
        base.turn(clock, f"base {clock}", replies)
    count = draw(st.integers(min_value=min_versions, max_value=max_versions))
    versions: list[Version] = []
    for number in range(count):
        writer = SessionWriter(
            namespace=10 + number, lines=list(base.lines), tail=base.tail, counter=0
        )
        start = clock
        for gap, replies, dice in draw(st.lists(_TURN, min_size=0, max_size=3)):
            start += gap + 1
            # Now and then a /compact, on the first machine only: when two machines compacted
            # apart, each boundary must follow the other's turns (a cycle, broken by time).
            if dice == 0 and number == 0 and writer.tail is not None:
                writer.compact(start)
                continue
            writer.turn(start, f"v{number} {start}", replies)
            if draw(st.booleans()) and draw(st.booleans()):
                writer.lines.append(draw(_TORN))
        if draw(st.booleans()) and draw(st.booleans()) and base.lines:
            writer.meta({"type": "mode", "mode": f"mode-{number}"})
        data = writer.data()
        if draw(st.booleans()) and draw(st.booleans()):
            data += draw(_TORN)  # a torn tail: no newline after it
        versions.append(Version(label=f"v{number}", data=data))
    return versions


_TAKEOVER_STAMP = "2026-12-06T14:02:00.000Z"


def history() -> SessionWriter:
    """Two turns and a third prompt still waiting for its reply (the lid closed)."""
    writer = SessionWriter(namespace=1)
    writer.turn(1, "one on alpha", [0])
    writer.turn(2, "two on alpha", [1, 0])
    writer.row("user", 3, {"role": "user", "content": "three on alpha"})
    return writer


def late_reply_fork() -> tuple[bytes, str]:
    """alpha's prompt, beta's take-over there and its turn, then alpha's late reply."""
    writer = history()
    point = writer.tail
    assert point is not None
    writer.lines.append(takeover_line(_SESSION, point, "BETA", _TAKEOVER_STAMP))
    beta = SessionWriter(namespace=2, lines=writer.lines, tail=point)
    beta.turn(10, "four on beta", [1, 0])
    alpha = SessionWriter(namespace=3, lines=beta.lines, tail=point)
    late = alpha.row("assistant", 4, {"id": "msg_late", "content": [{"type": "text"}]})
    alpha.meta({"type": "last-prompt", "leafUuid": late})
    return alpha.data(), late


@st.composite
def forked_sessions(draw: st.DrawFn) -> Version:
    """One file two writers appended to after a take-over (issue 20, case 2).

    A shared history, the take-over line at its leaf, then the new holder's turns and the old
    holder's late rows (a reply to its open prompt, new turns, or both), interleaved in the
    file the way two appenders interleave.
    """
    base = SessionWriter(namespace=1)
    clock = 0
    for gap, replies, _ in draw(st.lists(_TURN, min_size=1, max_size=2)):
        clock += gap + 1
        base.turn(clock, f"base {clock}", replies)
    if draw(st.booleans()):  # the old holder was closed with its prompt unanswered
        base.row("user", clock + 1, {"role": "user", "content": "open prompt"})
    point = base.tail
    assert point is not None
    lines = [*base.lines, takeover_line(_SESSION, point, "BETA", _TAKEOVER_STAMP)]
    writers = [SessionWriter(namespace=20 + n, lines=[], tail=point) for n in range(2)]
    late = writers[1]
    if draw(st.booleans()):
        message = {"id": "msg_late", "content": [{"type": "text", "text": "late"}]}
        late.row("assistant", clock + 2, message)
    for number, writer in enumerate(writers):
        start = clock + 2
        for gap, replies, _ in draw(st.lists(_TURN, min_size=1 - number, max_size=2)):
            start += gap + 1
            writer.turn(start, f"w{number} {start}", replies)
    chunks = [writer.lines for writer in writers]
    while any(chunks):
        pick = draw(st.sampled_from([n for n, chunk in enumerate(chunks) if chunk]))
        take = draw(st.integers(min_value=1, max_value=len(chunks[pick])))
        lines += chunks[pick][:take]
        chunks[pick] = chunks[pick][take:]
    return Version("live", b"".join(line + b"\n" for line in lines))


@st.composite
def rewound_sessions(draw: st.DrawFn) -> Version:
    """One writer's file with branches Claude Code makes on purpose (edit, /rewind)."""
    writer = SessionWriter(namespace=1)
    clock = 0
    points: list[str | None] = [None]
    for gap, replies, dice in draw(st.lists(_TURN, min_size=2, max_size=6)):
        clock += gap + 1
        if dice < 4 and len(points) > 1:
            writer.tail = draw(st.sampled_from(points[1:]))
        writer.turn(clock, f"turn {clock}", replies)
        points.append(writer.tail)
    return Version("live", writer.data())


@st.composite
def split_pair_sessions(draw: st.DrawFn) -> list[Version]:
    """Two copies where one holds a tool_use and the other its result, or neither the result."""
    base = SessionWriter(namespace=1)
    base.turn(1, "one", draw(_REPLIES))
    base.row("user", 2, {"role": "user", "content": "run it"})
    shared = list(base.lines)
    x = SessionWriter(namespace=2, lines=list(shared), tail=base.tail)
    block = {"type": "tool_use", "id": "toolu_split", "name": "Bash", "input": {}}
    holder = x.row("assistant", 3, {"id": "msg_split", "content": [block]})
    if draw(st.booleans()):
        x.turn(5, "next prompt", draw(_REPLIES))
    y = SessionWriter(namespace=3, lines=list(shared), tail=base.tail)
    if draw(st.booleans()):
        result = {"type": "tool_result", "tool_use_id": "toolu_split", "content": "ok"}
        y.row("user", 4, {"role": "user", "content": [result]}, parent=holder)
    y.turn(draw(st.integers(min_value=0, max_value=9)), "on y", draw(_REPLIES))
    return [Version("x", x.data()), Version("y", y.data())]


def _message(row: dict[str, Any]) -> dict[str, Any]:
    message = row.get("message")
    return message if isinstance(message, dict) else {}


def _blocks(row: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    content = _message(row).get("content")
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == kind]


def broken_tool_pairs(data: bytes) -> list[str]:
    """Tool calls the resumed chain goes on from without their results, as uuids of holders.

    A reply (assistant rows sharing ``message.id``) whose rows hold tool_use blocks must be
    followed on the chain by a tool_result row, and each call must have a result row hanging
    off the row that holds it, later in the file. A call at the end of the chain is open.
    """
    rows = rows_of(data)
    at = {str(row["uuid"]): index for index, row in enumerate(rows)}
    results = {
        str(block.get("tool_use_id")): row
        for row in rows
        if row.get("type") == "user" and not row.get("isSidechain")
        for block in _blocks(row, "tool_result")
    }
    chain = [rows[at[uuid]] for uuid in resume_chain(data, through_compaction=True)]
    broken: list[str] = []
    for index, row in enumerate(chain):
        calls = _blocks(row, "tool_use")
        if row.get("type") != "assistant" or not calls:
            continue
        end = index
        while (
            end + 1 < len(chain)
            and chain[end + 1].get("type") == "assistant"
            and _message(chain[end + 1]).get("id") == _message(row).get("id")
        ):
            end += 1
        if end + 1 == len(chain):
            continue  # the chain ends in this reply: its calls may still be running
        follower = chain[end + 1]
        if not _blocks(follower, "tool_result"):
            broken.append(str(row["uuid"]))
            continue
        for call in calls:
            result = results.get(str(call.get("id")))
            if (
                result is None
                or result.get("parentUuid") != row["uuid"]
                or at[str(result["uuid"])] < at[str(row["uuid"])]
            ):
                broken.append(str(row["uuid"]))
    return broken


def rows_of(data: bytes) -> list[dict[str, Any]]:
    """Parsed rows with a uuid, in file order (unparseable lines skipped)."""
    rows = []
    for number, raw in enumerate(split_lines(data), 1):
        line = parse_line(raw, number)
        if line.kind == "row":
            rows.append(json.loads(raw))
    return rows


def uuids_of(data: bytes) -> list[str]:
    return [str(row["uuid"]) for row in rows_of(data)]


def turn_starts(data: bytes) -> list[int]:
    """0-based line indexes where a typed prompt continues the main chain (a turn start)."""
    starts: list[int] = []
    previous = None
    for index, raw in enumerate(split_lines(data)):
        line = parse_line(raw, index + 1)
        if line.kind != "row" or line.sidechain:
            continue
        if (
            line.cut_candidate
            and not line.boundary
            and previous is not None
            and line.parent == previous.uuid
            and not previous.prompt_like
        ):
            starts.append(index)
        previous = line
    return starts


def diverge(data: bytes) -> tuple[bytes, list[str]]:
    """Another machine's copy: the history up to a middle turn, then one turn of its own.

    The new turn (a prompt, an assistant row with a tool_use, its tool_result, a reply) hangs
    off the main-chain row before that middle turn and is stamped with that turn's timestamp,
    so a merge has to interleave it with the turns the original went on with.
    """
    lines = split_lines(data)
    starts = turn_starts(data)
    if starts:  # a one-turn file can only be continued at its end
        cut = starts[len(starts) // 2]
        cut_row = json.loads(lines[cut])
        tail = cut_row["parentUuid"]
    else:
        cut = len(lines)
        main = [r for r in map(json.loads, lines) if "uuid" in r and not r.get("isSidechain")]
        cut_row, tail = main[-1], main[-1]["uuid"]
    writer = SessionWriter(namespace=0xB0B, lines=lines[:cut], tail=tail)
    second = 0
    writer.meta({"type": "queue-operation", "operation": "enqueue", "content": "from B"})
    first = writer.row("user", second, {"role": "user", "content": "from B"})
    tool = {"type": "tool_use", "id": "toolu_from_b", "name": "Bash", "input": {}}
    holder = writer.row("assistant", second, {"id": "msg_from_b", "content": [tool]})
    result = {"type": "tool_result", "tool_use_id": "toolu_from_b", "content": "ok"}
    writer.row("user", second, {"role": "user", "content": [result]}, parent=holder)
    writer.row("assistant", second, {"id": "msg_from_b2", "content": [{"type": "text"}]})
    new = [json.loads(raw)["uuid"] for raw in writer.lines[cut:] if b'"uuid"' in raw]
    stamp = str(cut_row["timestamp"])
    out = writer.data().replace(
        f'"timestamp":"{_stamp(0)}"'.encode(), f'"timestamp":"{stamp}"'.encode()
    )
    assert first in new
    return out, new
