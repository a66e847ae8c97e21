"""Which chain of a session file Claude Code 2.1.331 would send to the model on resume.

Implements the rule measured in research/claude-code-format.md §2.5 (experiment E5): take the
``leafUuid`` of the last ``last-prompt`` line whose leaf exists; if that row has descendants,
go on to the last-in-file one; with no usable checkpoint, take the last message row in file
order. Then walk ``parentUuid`` back to the root, or to a ``compact_boundary`` (included),
because history before a boundary is not sent.

"Message row" here is a main-chain row (not ``isSidechain``) of type user, assistant, system
or attachment: ``progress`` rows are spliced out by the 2.1.331 loader and 1.0.x inline
sidechains are not the conversation. Duplicate uuids resolve to the last copy in the file,
as that loader does. Tests everywhere use this to check what a resumed session would see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from session_roam.merge.records import Line, parse_line, split_lines

__all__ = ["resume_chain"]

_MESSAGE_TYPES: Final = frozenset({"user", "assistant", "system", "attachment"})


@dataclass(frozen=True, slots=True)
class _Row:
    index: int
    parent: str | None
    boundary: bool
    logical_parent: str | None


def _logical_parent(line: Line) -> str | None:
    if not line.boundary:
        return None
    value = json.loads(str(line.raw, "utf-8")).get("logicalParentUuid")
    return value if isinstance(value, str) else None


def _pick_leaf(lines: list[Line], rows: dict[str, _Row]) -> str | None:
    children: dict[str, list[str]] = {}
    for uuid, row in rows.items():
        if row.parent is not None:
            children.setdefault(row.parent, []).append(uuid)
    for line in reversed(lines):
        if line.type == "last-prompt" and line.kind == "meta" and line.leaf in rows:
            leaf = line.leaf
            stack, best = [leaf], leaf
            while stack:
                node = stack.pop()
                if rows[node].index > rows[best].index:
                    best = node
                stack.extend(children.get(node, ()))
            return best
    for line in reversed(lines):
        if line.kind == "row" and not line.sidechain and line.type in _MESSAGE_TYPES:
            return line.uuid
    return None


def resume_chain(data: bytes, *, through_compaction: bool = False) -> list[str]:
    """The uuids Claude Code would resume, root (or compact boundary) first, leaf last.

    With ``through_compaction`` the walk continues past each boundary through its
    ``logicalParentUuid``: the whole timeline, as a reader of the file sees it.
    Unparseable lines are skipped, as 2.1.331 skips them.
    """
    lines = [parse_line(raw, number) for number, raw in enumerate(split_lines(data), 1)]
    rows: dict[str, _Row] = {}
    for index, line in enumerate(lines):
        if line.kind == "row" and line.uuid is not None:
            rows[line.uuid] = _Row(index, line.parent, line.boundary, _logical_parent(line))
    leaf = _pick_leaf(lines, rows)
    chain: list[str] = []
    seen: set[str] = set()
    node = leaf
    while node is not None and node in rows and node not in seen:
        seen.add(node)
        chain.append(node)
        row = rows[node]
        if row.boundary:
            if not through_compaction:
                break
            node = row.logical_parent
        else:
            node = row.parent
    chain.reverse()
    return chain
