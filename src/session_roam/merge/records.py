"""One line of a session file: parse it once, keep its exact bytes, never re-serialise it.

A merged file must be byte-identical to its inputs wherever the merge did not change a record,
so a ``Line`` carries the raw bytes it came from plus the handful of fields the timeline needs.
The parsed dict is thrown away straight after: keeping it would cost several times the file's
size in memory. The only record the merge ever rewrites is the first row of a moved turn, and
``reparent`` changes just its ``parentUuid`` value in place.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from session_roam.bounds import record_problem

__all__ = [
    "Line",
    "LineKind",
    "Raw",
    "content_without_parent",
    "parse_line",
    "reparent",
    "same_bytes",
    "serialise_line",
    "split_lines",
]

LineKind = Literal["row", "meta", "unparseable"]
#: A line's bytes: ``bytes``, or a read-only view into a version's bytes (the merge parses
#: views so that it never holds a second copy of its inputs).
Raw: TypeAlias = bytes | memoryview

_PARENT_RE: Final = re.compile(rb'"parentUuid"\s*:\s*(null|"(?:[^"\\]|\\.)*")')


@dataclass(frozen=True, slots=True)
class Line:
    """A line with the facts the timeline needs; ``raw`` has no trailing newline.

    ``kind`` is ``row`` for records with a ``uuid`` (the conversation tree), ``meta`` for JSON
    objects without one (last-prompt, custom-title, cost-state, summary, ...) and
    ``unparseable`` for torn, non-UTF-8, non-JSON or non-object lines (``reason`` says which).
    """

    raw: Raw
    number: int
    kind: LineKind
    reason: str = ""
    type: str = ""
    uuid: str | None = None
    parent: str | None = None
    timestamp: str = ""
    sidechain: bool = False
    prompt_like: bool = False  # a user row that is not a tool_result (its parent ends a turn)
    cut_candidate: bool = False  # may start a turn: a typed prompt or a compact boundary
    boundary: bool = False  # system/compact_boundary: parentUuid null on purpose
    leaf: str | None = None  # last-prompt's leafUuid
    prompt_id: str | None = None  # 2.1.x ``promptId``: the rows of one run share it
    offset: int = -1  # where ``raw`` starts in the version's bytes, when the caller knows


def split_lines(data: bytes) -> list[bytes]:
    """Split on ``\\n`` only; a final line without newline (a torn tail) is still a line."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _is_tool_result(content: object) -> bool:
    if not isinstance(content, list):
        return False
    return any(isinstance(block, dict) and block.get("type") == "tool_result" for block in content)


def parse_line(raw: Raw, number: int, offset: int = -1) -> Line:
    """Classify one line (1-based ``number``); never raises, whatever the bytes are.

    A line past ``session_roam.bounds``' caps is ``unparseable`` (reason ``too-long``/``too-deep``)
    without being parsed, so the merge treats it like a torn one (set aside, bytes kept).
    """
    data = bytes(raw)  # one copy of a view, shared by the bounds check and the decoder
    problem = record_problem(data)
    if problem is not None:
        return Line(raw, number, "unparseable", reason=problem, offset=offset)
    try:
        obj = json.loads(str(data, "utf-8"))
    except UnicodeDecodeError:
        return Line(raw, number, "unparseable", reason="not-utf8", offset=offset)
    except RecursionError:
        return Line(raw, number, "unparseable", reason="too-deep", offset=offset)
    except ValueError:
        reason = "blank" if not raw or bytes(raw).isspace() else "unparseable"
        return Line(raw, number, "unparseable", reason=reason, offset=offset)
    if not isinstance(obj, dict):
        return Line(raw, number, "unparseable", reason="not-an-object", offset=offset)
    kind_type = obj.get("type")
    rtype = kind_type if isinstance(kind_type, str) else ""
    uuid = obj.get("uuid")
    timestamp = obj.get("timestamp")
    ts = timestamp if isinstance(timestamp, str) else ""
    if not isinstance(uuid, str):
        leaf = obj.get("leafUuid") if rtype == "last-prompt" else None
        return Line(
            raw,
            number,
            "meta",
            type=rtype,
            timestamp=ts,
            leaf=leaf if isinstance(leaf, str) else None,
            offset=offset,
        )
    parent = obj.get("parentUuid")
    prompt_id = obj.get("promptId")
    sidechain = obj.get("isSidechain") is True
    boundary = rtype == "system" and obj.get("subtype") == "compact_boundary"
    prompt_like = False
    if rtype == "user":
        message = obj.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        prompt_like = not _is_tool_result(content)
    cut = not sidechain and (boundary or (prompt_like and obj.get("isCompactSummary") is not True))
    return Line(
        raw,
        number,
        "row",
        type=rtype,
        uuid=uuid,
        parent=parent if isinstance(parent, str) else None,
        timestamp=ts,
        sidechain=sidechain,
        prompt_like=prompt_like and not sidechain,
        cut_candidate=cut,
        boundary=boundary,
        prompt_id=prompt_id if isinstance(prompt_id, str) else None,
        offset=offset,
    )


def serialise_line(line: Line) -> bytes:
    """The exact bytes the line was read from: records are never re-encoded."""
    return bytes(line.raw)


def reparent(raw: Raw, new_parent: str) -> bytes:
    """``raw`` with its top-level ``parentUuid`` set to ``new_parent``, every other byte kept.

    Claude Code writes ``parentUuid`` as the first key, so the first match is the top-level
    one; the result is checked by parsing it, and a line where that does not hold (a nested key
    came first) is re-encoded the way Claude Code encodes rows (compact, non-ASCII as is).
    """
    raw = bytes(raw)
    original = json.loads(raw.decode("utf-8"))
    wanted = dict(original)
    wanted["parentUuid"] = new_parent
    match = _PARENT_RE.search(raw)
    if match is not None:
        value = json.dumps(new_parent, ensure_ascii=False).encode("utf-8")
        candidate = raw[: match.start(1)] + value + raw[match.end(1) :]
        if json.loads(candidate.decode("utf-8")) == wanted:
            return candidate
    return json.dumps(wanted, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def same_bytes(x: Line, y: Line) -> bool:
    """Byte equality at memcmp speed (two memoryviews are compared item by item otherwise)."""
    if len(x.raw) != len(y.raw):
        return False
    if isinstance(x.raw, memoryview) and isinstance(x.raw.obj, bytes) and x.offset >= 0:
        return x.raw.obj.startswith(y.raw, x.offset)
    return bytes(x.raw) == bytes(y.raw)


def content_without_parent(raw: Raw) -> dict[str, Any]:
    """The record minus ``parentUuid``: two copies that differ only there are one record.

    A merge re-parents the first row of a moved turn, so a later merge meets that row with two
    parents; the parent is the merge's to decide, so it is not a conflict.
    """
    obj: dict[str, Any] = json.loads(str(raw, "utf-8"))
    obj.pop("parentUuid", None)
    return obj
