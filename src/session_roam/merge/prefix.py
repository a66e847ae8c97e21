"""The history every version shares byte for byte, handled without parsing it.

Syncthing conflict copies of a session share everything written before the machines parted,
usually most of the file. Those bytes are copied to the output once and never parsed: the
merge only needs the uuids they hold (to catch a row repeated later) and their last main row
(where the first diverged turn hangs). This is what keeps a merge below the cost of parsing
its inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from session_roam.merge.records import Line, parse_line

__all__ = ["SharedPrefix", "common_prefix_length", "count_rows", "read_shared_prefix"]

_CHUNK: Final = 1 << 20
# Claude Code writes compact JSON; any other spacing (a hand-edited or re-encoded file) must
# not push the merge onto the parse-everything path.
_UUID_RE: Final = re.compile(rb'"uuid"[ \t\r]*:[ \t\r]*"([^"]*)"')


@dataclass(frozen=True, slots=True)
class SharedPrefix:
    """Facts about the shared head of the versions (``end`` bytes, whole lines only)."""

    end: int
    lines: int
    uuids: frozenset[str]  # every value of a "uuid" key, nested ones included (a superset)
    uuid_count: int
    uuids_exact: bool  # every '"uuid"' in the bytes was read (compact JSON, as Claude writes)
    tail: Line | None  # the last row that is not a sidechain row
    last_prompt: Line | None  # the last last-prompt line, if any


def _pair_prefix(a: bytes, b: bytes, limit: int) -> int:
    """Length of the common byte prefix, compared in big slices (memcmp speed), then halved."""
    view = memoryview(a)
    pos = 0
    step = _CHUNK
    while pos < limit:
        step = min(step, limit - pos)
        if b.startswith(view[pos : pos + step], pos):  # memcmp on a view: no copy
            pos += step
        elif step > 64:
            step //= 2
        else:
            while pos < limit and a[pos] == b[pos]:
                pos += 1
            return pos
    return pos


def count_rows(data: bytes) -> int:
    """Rows with a uuid, counted without parsing (nested "uuid" keys would count too)."""
    return len(_UUID_RE.findall(data))


def common_prefix_length(datas: list[bytes]) -> int:
    """Bytes shared by all ``datas``, cut back to the end of the last whole line."""
    if not datas:
        return 0
    first = datas[0]
    shared = len(first)
    for other in datas[1:]:
        shared = _pair_prefix(first, other, min(shared, len(other)))
    cut = first.rfind(b"\n", 0, shared)
    return cut + 1


def _line_at(data: bytes, index: int, end: int) -> tuple[int, int]:
    """Start and stop (exclusive, before the newline) of the line holding ``index``."""
    start = data.rfind(b"\n", 0, index) + 1
    stop = data.find(b"\n", index, end)
    return start, (end if stop < 0 else stop)


def _last_tail(data: bytes, end: int, lines: int) -> Line | None:
    stop = end - 1  # the newline that ends the line being looked at
    number = lines
    while stop >= 0:
        start = data.rfind(b"\n", 0, stop) + 1
        line = parse_line(data[start:stop], number)
        if line.kind == "row" and not line.sidechain:
            return line
        stop = start - 1
        number -= 1
    return None


def _last_prompt(data: bytes, end: int, lines: int) -> Line | None:
    index = end
    while True:
        index = data.rfind(b"last-prompt", 0, index)
        if index < 0:
            return None
        start, stop = _line_at(data, index, end)
        line = parse_line(data[start:stop], lines - data.count(b"\n", start, end) + 1)
        if line.kind == "meta" and line.type == "last-prompt":
            return line
        index = start


def read_shared_prefix(data: bytes, end: int) -> SharedPrefix:
    """Read the facts the merge needs from ``data[:end]`` without parsing every line."""
    found = _UUID_RE.findall(data, 0, end)
    lines = data.count(b"\n", 0, end)
    return SharedPrefix(
        end=end,
        lines=lines,
        uuids=frozenset(value.decode("utf-8", "replace") for value in found),
        uuid_count=len(found),
        uuids_exact=data.count(b'"uuid"', 0, end) == len(found),
        tail=_last_tail(data, end, lines),
        last_prompt=_last_prompt(data, end, lines),
    )
