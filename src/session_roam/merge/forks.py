"""Forks inside one file: two machines appended to the same copy, each after the same point.

Syncthing does not always make a conflict copy when two machines wrote one session. A machine
whose lease was taken over (``roam cr --force``) may come back with its claude still running;
that claude appends its late turn to the file it finds at the path, which by then already holds
the new holder's turns. Both branches hang off the same row, and Claude Code 2.1.331 resumes
only one of them: the other machine's turns are in the file but never reach the model.

Structure alone cannot tell such a fork from one Claude Code makes on purpose (editing an
earlier prompt, ``/rewind``): the late machine may just as well have typed a new prompt. The
evidence is written by the machine that starts writing without being sure it is alone (a
take-over): before its claude starts, roam appends one ``roam-takeover`` line naming the row it
resumes from, the *fork point*. The line travels with the session, so every machine that
repairs it (``roam cr``, ``roam watch``, ``roam conflicts merge``, on either side) sees the same
fact, and Claude Code ignores a line type it does not know (checked with the real client).

A fork point ``P`` marks the rows from ``P`` back to the prompt of its turn as *anchors*. An
anchor with more than one child that continues the conversation (a tool_result or a progress row
hanging off its row does not count) is a fork between writers. ``split_forks`` turns such a file
into one version per branch, each with the shared history; ``merge_versions`` then joins them
exactly as it joins conflict copies. Branches anywhere else are left as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.merge.model import Version
from session_roam.merge.records import Line, parse_line, split_lines

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "TAKEOVER_TYPE",
    "has_unmerged_fork",
    "record_continuations",
    "split_forks",
    "split_version_forks",
    "takeover_line",
]

#: The ``type`` of roam's fork-point line; Claude Code skips types it does not know.
TAKEOVER_TYPE: Final = "roam-takeover"
_NEEDLE: Final = b'"type":"' + TAKEOVER_TYPE.encode() + b'"'
_NOT_A_BRANCH: Final = frozenset({"progress"})  # spliced out by the 2.1.331 loader


def takeover_line(session_id: str, fork_point: str, device: str, timestamp: str) -> bytes:
    """The line a taking-over machine appends (without newline): where its turns will start."""
    obj = {
        "type": TAKEOVER_TYPE,
        "forkPoint": fork_point,
        "device": device,
        "timestamp": timestamp,
        "sessionId": session_id,
    }
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True, slots=True)
class _Tree:
    lines: list[Line]
    rows: dict[str, int]  # uuid -> index of its first line
    children: dict[str, list[str]]  # main-chain children that continue a conversation


def _fork_points(lines: list[Line]) -> list[str]:
    points: list[str] = []
    for line in lines:
        if line.kind == "meta" and line.type == TAKEOVER_TYPE:
            obj = json.loads(str(line.raw, "utf-8"))
            point = obj.get("forkPoint")
            if isinstance(point, str) and point not in points:
                points.append(point)
    return points


def _tree(lines: list[Line]) -> _Tree:
    rows: dict[str, int] = {}
    children: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        if line.kind != "row" or line.uuid is None or line.uuid in rows:
            continue
        rows[line.uuid] = index
        if line.sidechain or line.parent is None or line.type in _NOT_A_BRANCH:
            continue
        if line.type == "user" and not line.prompt_like:
            continue  # a tool_result hangs off its tool_use row beside the next assistant row
        children.setdefault(line.parent, []).append(line.uuid)
    return _Tree(lines, rows, children)


def _anchors(tree: _Tree, point: str) -> list[str]:
    """The fork point and its ancestors back to (and including) the prompt of its turn."""
    anchors: list[str] = []
    node: str | None = point
    while node is not None and node in tree.rows and node not in anchors:
        anchors.append(node)
        line = tree.lines[tree.rows[node]]
        if line.prompt_like or line.boundary:
            break
        node = line.parent
    return anchors


def _first_fork(tree: _Tree, points: list[str]) -> list[str] | None:
    """The branch heads of the first anchor that has several, in file order."""
    for point in points:
        for anchor in _anchors(tree, point):
            heads = tree.children.get(anchor, [])
            if len(heads) > 1:
                return sorted(heads, key=tree.rows.__getitem__)
    return None


def _subtree(tree: _Tree, head: str) -> set[str]:
    by_parent: dict[str, list[str]] = {}
    for line in tree.lines:
        if line.kind == "row" and line.uuid is not None and line.parent is not None:
            by_parent.setdefault(line.parent, []).append(line.uuid)
    found: set[str] = set()
    stack = [head]
    while stack:
        node = stack.pop()
        if node not in found:
            found.add(node)
            stack.extend(by_parent.get(node, ()))
    return found


def _split(raws: list[bytes], tree: _Tree, heads: list[str]) -> list[list[bytes]]:
    """One line list per branch: rows of other branches, and the lines after them, left out.

    A line without a uuid (last-prompt, queue-operation, a torn line) belongs to the branch of
    the row before it in the file, so each machine's metadata stays with its own turns.
    """
    branch_of: dict[str, int] = {}
    for number, head in enumerate(heads):
        for uuid in _subtree(tree, head):
            branch_of.setdefault(uuid, number)
    owners: list[int] = []
    owner = -1
    for line in tree.lines:
        if line.kind == "row" and line.uuid is not None:
            owner = branch_of.get(line.uuid, -1)
        owners.append(owner)
    return [
        [raw for raw, owned in zip(raws, owners, strict=True) if owned in (-1, number)]
        for number in range(len(heads))
    ]


def _forks_of(data: bytes) -> tuple[list[bytes], _Tree, list[str]] | None:
    if _NEEDLE not in data:
        return None
    raws = split_lines(data)
    lines = [parse_line(raw, number) for number, raw in enumerate(raws, 1)]
    points = _fork_points(lines)
    if not points:
        return None
    tree = _tree(lines)
    heads = _first_fork(tree, points)
    return None if heads is None else (raws, tree, heads)


def has_unmerged_fork(data: bytes) -> bool:
    """True when a take-over's fork point in ``data`` has branches from two writers."""
    return _forks_of(data) is not None


def _leaf(tree: _Tree, subtree: set[str]) -> str:
    """The last row a writer wrote on its branch: where its claude would go on."""
    for line in reversed(tree.lines):
        if line.uuid in subtree and line.kind == "row" and not line.sidechain:
            return line.uuid
    raise AssertionError("a branch has at least its head")  # pragma: no cover


def _continuation(tree: _Tree, point: str) -> bytes:
    """A take-over line naming ``point``, with the session, device and time of the first one."""
    template = next(
        line for line in tree.lines if line.kind == "meta" and line.type == TAKEOVER_TYPE
    )
    obj = json.loads(str(template.raw, "utf-8"))
    fields = [obj.get(key) for key in ("sessionId", "device", "timestamp")]
    session, device, stamp = (value if isinstance(value, str) else "" for value in fields)
    return takeover_line(session, point, device, stamp)


def _split_all(data: bytes) -> tuple[list[bytes], list[tuple[str, bytes]]]:
    found = _forks_of(data)
    if found is None:
        return [data], []
    raws, tree, heads = found
    torn = not data.endswith(b"\n")
    out: list[bytes] = []
    leaves = [
        (leaf, _continuation(tree, leaf))
        for leaf in (_leaf(tree, _subtree(tree, h)) for h in heads)
    ]
    for part in _split(raws, tree, heads):
        body = b"".join(raw + b"\n" for raw in part)
        if torn and part and part[-1] is raws[-1]:
            body = body[:-1]
        parts, more = _split_all(body)
        out.extend(parts)
        leaves.extend(more)
    return out, leaves


def split_forks(data: bytes) -> list[bytes]:
    """``data`` as one version per writer's branch; ``[data]`` when it holds no such fork.

    Each version keeps the shared history and one branch; the versions are split again until
    none has a fork left, so a file with several take-overs yields every combination it needs.
    A torn last line stays a torn last line in every version it belongs to.
    """
    return _split_all(data)[0]


def split_version_forks(
    versions: Sequence[Version],
) -> tuple[list[Version], int, list[tuple[str, bytes]]]:
    """Each version with a fork between writers becomes one version per branch.

    Also returns, for every branch, its last row and a take-over line naming it: once the
    branches are joined, each writer's claude may still go on from its own last row, which now
    has the other writer's turns after it. ``merge_versions`` records those points (all but
    the merged leaf), so such a later turn is a fork it recognises and joins in turn.
    """
    out: list[Version] = []
    forks = 0
    points: list[tuple[str, bytes]] = []
    for version in versions:
        parts, leaves = _split_all(version.data)
        if len(parts) == 1:
            out.append(version)
            continue
        forks += len(parts) - 1
        points.extend(leaves)
        out.extend(Version(f"{version.label}#{n}", part) for n, part in enumerate(parts, 1))
    return out, forks, points


def record_continuations(data: bytes, leaf: str | None, points: list[tuple[str, bytes]]) -> bytes:
    """``data`` with a take-over line for each branch's last row but the merged ``leaf``.

    Returns ``data`` itself when every such point is already named in it.
    """
    for point, line in points:
        named = b'"forkPoint":"' + point.encode() + b'"'
        if point != leaf and named not in data:
            data += (b"" if data.endswith(b"\n") else b"\n") + line + b"\n"
    return data
