"""Read a session file line by line with memory bounded by one record's cap, never the file's.

``roam ls``, ``cf``, ``cs`` and ``cr`` only need a few fields of a few rows. Slurping the file
(or ``for line in handle``) holds a whole 200 MB line at once, and ``json.loads`` on a deeply
nested one raises ``RecursionError``. Here a line is read with a bounded ``readline``; a line
past ``MAX_RECORD_BYTES`` is skipped in chunks without being kept, and ``load_record`` parses
only what ``session_roam.bounds`` allows. What is skipped is counted, so a caller can report it.
"""

from __future__ import annotations

import json
import os
import stat
from typing import TYPE_CHECKING, Final

from session_roam.bounds import MAX_RECORD_BYTES, record_problem
from session_roam.engine.core.safefs import LinkRefused, open_nofollow
from session_roam.engine.core.store import read_settled

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import BinaryIO

__all__ = ["Skipped", "iter_file_lines", "iter_lines", "load_record"]

_CHUNK: Final = 1024 * 1024


class Skipped:
    """Lines a reader left unread because they were over a cap (for its report).

    A plain class, not a dataclass: this module is on ``roam cf``'s start-up path.
    """

    __slots__ = ("too_deep", "too_long")

    def __init__(self) -> None:
        self.too_long = 0
        self.too_deep = 0

    @property
    def total(self) -> int:
        return self.too_long + self.too_deep


def iter_lines(
    handle: BinaryIO,
    skipped: Skipped | None = None,
    cap: int = MAX_RECORD_BYTES,
    *,
    complete_only: bool = False,
) -> Iterator[bytes]:
    """The lines of ``handle`` without their newline; a line over ``cap`` is dropped unread.

    Memory is one line of at most ``cap`` bytes (plus one chunk), whatever the file holds.
    With ``complete_only`` a final line without newline (still being written) is not yielded
    and ``handle`` is left at its start, so ``handle.tell()`` is where the complete lines end.
    """
    while True:
        at = handle.tell() if complete_only else 0
        line = handle.readline(cap + 1)
        if not line:
            return
        complete = line.endswith(b"\n")
        if len(line) > cap and not complete:
            while True:  # the rest of the over-long line, a chunk at a time, dropped
                rest = handle.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    complete = bool(rest)
                    break
            if complete_only and not complete:
                handle.seek(at)
                return
            if skipped is not None:
                skipped.too_long += 1
            continue
        if complete_only and not complete:
            handle.seek(at)
            return
        yield line[:-1] if complete else line


def load_record(line: bytes, skipped: Skipped | None = None) -> object | None:
    """The parsed JSON of ``line``, or None when it is torn, foreign, too long or too deep."""
    problem = record_problem(line)
    if problem is not None:
        if skipped is not None:
            if problem == "too-long":
                skipped.too_long += 1
            else:
                skipped.too_deep += 1
        return None
    try:
        loaded: object = json.loads(line)
        return loaded
    except (ValueError, RecursionError):
        return None


def iter_file_lines(path: Path, skipped: Skipped | None = None) -> Iterator[bytes]:
    """``iter_lines`` of the regular file ``path``, opened without following a symlink.

    A link, a FIFO or a file that cannot be opened yields nothing: to a reader of the synced
    folder it is not a session (``roam verify`` reports the link). A file missing only while
    Syncthing renames its new version in is opened once that is in place (``read_settled``).
    """
    try:
        fd = read_settled(lambda p: open_nofollow(p, os.O_RDONLY | os.O_NONBLOCK), path)
    except (LinkRefused, OSError):
        return
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return
        yield from iter_lines(handle, skipped)
