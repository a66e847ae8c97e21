"""Reading one session file into its summary fields, from the start or from where it was left.

A session file is append-only, so what ``roam ls`` needs of it (cwd, title, first and last
prompt, newest timestamp, turns) folds line by line: ``Fold`` keeps that state, and
``read_into`` feeds it the complete lines of a file from a byte offset on, returning where the
complete lines end. The summary cache (``summary_cache``) stores the fold and that offset, so an
appended file is read only from its old end; a rewritten one (another inode, a shorter file, a
changed tail) is read again from the start. Bounded and never through a link (``engine.bounded``).
"""

from __future__ import annotations

import os
import re
import stat
import zlib
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.bounded import Skipped, iter_lines, load_record
from session_roam.engine.core.safefs import LinkRefused, open_nofollow
from session_roam.engine.sessions.search_index import record_text

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "TAIL_BYTES",
    "TAKEOVER_LINE",
    "Fold",
    "prompt_line",
    "read_into",
    "tail_hash",
    "unreadable_why",
]

_PROMPT_MAX: Final = 200
_STAMP_RE: Final = re.compile(rb'"timestamp"\s*:\s*"([^"]{10,40})"')
#: A take-over row (``conflicts.forks.TAKEOVER_NEEDLE``, one floor up): a fork may follow it.
TAKEOVER_LINE: Final = b'"type":"roam-takeover"'
#: How much of the old end is checked before an appended file is read only from there.
TAIL_BYTES: Final = 4096


def prompt_line(text: str) -> str | None:
    """A typed prompt, shortened to one line; Claude Code's own wrappers are not prompts."""
    stripped = text.strip()
    if not stripped or stripped.startswith(("<command-", "<local-command", "<system-reminder")):
        return None
    line = " ".join(stripped.split())
    return line if len(line) <= _PROMPT_MAX else line[: _PROMPT_MAX - 1] + "…"


class Fold:
    """The summary fields of the lines read so far (a plain class: it is made 50,000 times)."""

    __slots__ = ("cwd", "first", "last", "latest", "skipped", "takeover", "title", "turns")

    def __init__(self) -> None:
        self.cwd: str | None = None
        self.title: str | None = None
        self.first: str | None = None
        self.last: str | None = None
        self.latest: str | None = None
        self.turns = 0
        self.takeover = False
        self.skipped = Skipped()

    def copy(self) -> Fold:
        other = Fold()
        for name in ("cwd", "title", "first", "last", "latest", "turns", "takeover"):
            setattr(other, name, getattr(self, name))
        other.skipped.too_long = self.skipped.too_long
        other.skipped.too_deep = self.skipped.too_deep
        return other

    def feed(self, line: bytes) -> None:
        # Only the rows that can change the summary are parsed: assistant replies and tool
        # results are most of a session's bytes, and their timestamp is all ls needs of them.
        if TAKEOVER_LINE in line:
            self.takeover = True
        stamp_match = _STAMP_RE.search(line)
        if stamp_match is not None:
            stamp = stamp_match.group(1).decode("utf-8", "replace")
            if self.latest is None or stamp > self.latest:
                self.latest = stamp
        wanted = b'"custom-title"' in line or (b'"user"' in line and b'"tool_result"' not in line)
        if not wanted and (self.cwd is not None or b'"cwd"' not in line):
            return
        row = load_record(line, self.skipped)  # None for a torn, foreign, too long or deep line
        if not isinstance(row, dict):
            return
        if self.cwd is None and isinstance(row.get("cwd"), str):
            self.cwd = row["cwd"]
        kind = row.get("type")
        if kind == "custom-title" and isinstance(row.get("customTitle"), str):
            self.title = row["customTitle"] or self.title
        elif kind == "user":
            found = record_text(row)
            prompt = prompt_line(found[1]) if found else None
            if prompt is not None:
                self.turns += 1
                self.first = self.first or prompt
                self.last = prompt


def tail_hash(path: Path | str, end: int) -> int | None:
    """A crc32 of the ``TAIL_BYTES`` before ``end`` (to notice a rewrite, not an adversary)."""
    try:
        fd = open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK)
    except (LinkRefused, OSError):
        return None
    with os.fdopen(fd, "rb") as handle:
        start = max(0, end - TAIL_BYTES)
        handle.seek(start)
        data = handle.read(end - start)
    return zlib.crc32(data) if len(data) == end - start else None


def read_into(path: Path | str, fold: Fold, offset: int = 0) -> tuple[int, int | None, Fold]:
    """Feed ``fold`` the complete lines of ``path`` from ``offset``.

    Answers where the complete lines end, the ``tail_hash`` there, and the fold as a reader
    sees the file now: ``fold`` itself, or a copy that also read a last line without its
    newline (still being written, or a file whose writer left none), which the next read
    reads again. A link, a FIFO or a file that cannot be opened feeds nothing:
    ``(offset, None, fold)``.
    """
    try:
        fd = open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK)
    except (LinkRefused, OSError):
        return offset, None, fold
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return offset, None, fold
        handle.seek(offset)
        for line in iter_lines(handle, fold.skipped, complete_only=True):
            fold.feed(line)
        end = handle.tell()
        seen = fold
        rest = list(iter_lines(handle))
        if rest:
            seen = fold.copy()
            for line in rest:
                seen.feed(line)
        start = max(0, end - TAIL_BYTES)
        handle.seek(start)
        data = handle.read(end - start)
    return end, zlib.crc32(data), seen


def unreadable_why(path: str) -> str | None:
    """Why ``path`` cannot be opened for reading, or None when it can (a link is not unreadable:
    ``roam verify`` reports it)."""
    try:
        os.close(open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK))
    except LinkRefused:
        return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None
