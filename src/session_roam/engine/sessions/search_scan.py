"""What ``roam cf`` indexes, found without reading what it does not: the scan and the lines.

``scan_session_files`` finds new and changed session files with one ``stat`` each;
``LineReader`` reads a file's complete lines in large chunks (a line past the record cap is
dropped unread, memory stays bounded by one cap plus one chunk); ``worth_parsing`` drops, before
any JSON parse, the lines that can hold no searchable text: tool results (most of a session's
bytes) and every row that is neither a user's nor an assistant's.

Only the standard library is imported: this module is on ``roam cf --json``'s start-up path.
"""

from __future__ import annotations

import json
import os
import re
import stat
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from session_roam.bounds import MAX_RECORD_BYTES
from session_roam.engine.core.safefs import is_project_name

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import BinaryIO

__all__ = [
    "Disk",
    "LineReader",
    "disk_of",
    "record_text",
    "scan_session_files",
    "worth_parsing",
]

_SESSION_RE: Final = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\.jsonl")
_MAX_TOOL_INPUT: Final = 2000
_READ: Final = 4 * 1024 * 1024


def _text_blocks(content: Any, *, tools: bool) -> list[str]:
    if isinstance(content, str):
        return [content]
    parts: list[str] = []
    if not isinstance(content, list):
        return parts
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif tools and kind == "tool_use":
            # Tool inputs hold the commands and file paths people search for ("that rsync").
            raw = json.dumps(block.get("input"), ensure_ascii=False)
            parts.append(f"{block.get('name', '')} {raw[:_MAX_TOOL_INPUT]}")
    return parts


def record_text(row: dict[str, Any]) -> tuple[str, str] | None:
    """``(role, text)`` of a user or assistant row worth searching, else None.

    User text and assistant text and tool inputs count; tool results (file dumps, command
    output) and thinking do not: they would drown every query in noise. ``isMeta`` rows are
    Claude Code's own injected text.
    """
    kind = row.get("type")
    if kind not in ("user", "assistant") or row.get("isMeta"):
        return None
    message = row.get("message")
    if not isinstance(message, dict):
        return None
    parts = _text_blocks(message.get("content"), tools=kind == "assistant")
    text = "\n".join(part for part in parts if part.strip())
    return (str(kind), text) if text else None


class Disk(NamedTuple):
    path: str
    project: str
    session_id: str
    size: int
    mtime_ns: int


def scan_session_files(
    projects_root: Path, known: dict[str, tuple[int, int]] | None = None
) -> tuple[list[Disk], int]:
    """Session files that are new or changed against ``known`` (path -> (size, mtime_ns)), and
    how many session files there are. Entries found are removed from ``known``, so what is left
    there afterwards is what was deleted.

    Every ``<project>/<uuid>.jsonl`` counts; conflict copies and dot folders are skipped (Claude
    never resumes them, and ``roam conflicts`` is where they are shown). This loop runs on every
    query over thousands of files, so it does one ``stat`` per file and little else.
    """
    known = {} if known is None else known
    changed: list[Disk] = []
    seen = 0
    try:
        projects = list(os.scandir(projects_root))
    except OSError:
        return changed, seen
    for project in projects:
        if not is_project_name(project.name) or not project.is_dir(follow_symlinks=False):
            continue
        try:
            entries = list(os.scandir(project.path))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if len(name) != 42 or not name.endswith(".jsonl"):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # Syncthing swapped it while we looked; the next refresh sees it
            if not stat.S_ISREG(info.st_mode):
                continue  # a symlink (or FIFO) is never indexed: `roam verify` reports it
            path = entry.path
            key = (info.st_size, info.st_mtime_ns)
            previous = known.pop(path, None)
            if previous is None and not _SESSION_RE.fullmatch(name):
                continue
            seen += 1
            if previous != key:
                changed.append(Disk(path, project.name, name[:-6], key[0], key[1]))
    return changed, seen


def disk_of(projects_root: Path, path: str) -> Disk | None:
    """``path`` as ``scan_session_files`` would find it (a transcript directly inside a project
    folder, a regular file), or None: gone, a link, a conflict copy, not a transcript."""
    project, name = os.path.split(path)
    if os.path.dirname(project) != str(projects_root) or os.path.basename(project)[:1] in ("", "."):
        return None
    if not _SESSION_RE.fullmatch(name):
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return Disk(path, os.path.basename(project), name[:-6], info.st_size, info.st_mtime_ns)


def worth_parsing(line: bytes, start: int = 0, end: int | None = None) -> bool:
    """False for a line ``record_text`` would surely find nothing in, decided on its bytes
    (``line[start:end]``: a line inside a larger buffer is looked at where it lies).

    A tool result row (``"tool_use_id"`` and no ``"text"`` in its message, so no text block
    beside the result) is most of a session's bytes and never indexed; nor is any row without a
    user, an assistant or a custom title. Claude Code writes the result again after the message,
    under ``"toolUseResult"``, where a ``"text"`` is the tool's, not a block of the message: only
    the bytes before that key are looked at, when the message comes before it. Anything in doubt
    is parsed.
    """
    end = len(line) if end is None else end
    if (
        line.find(b'"user"', start, end) < 0
        and line.find(b'"assistant"', start, end) < 0
        and line.find(b"custom-title", start, end) < 0
    ):
        return False
    if line.find(b'"tool_use_id"', start, end) < 0:
        return True
    stop = line.find(b'"toolUseResult"', start, end)
    if stop < 0 or line.find(b'"message"', start, stop) < 0:
        stop = end
    return line.find(b'"text"', start, stop) >= 0


class LineReader:
    """The complete lines of ``handle`` from where it stands, read in chunks of ``_READ``.

    ``end`` is, once iterated, the offset just past the last complete line: a torn last line
    (still being written) waits for its newline. A line longer than ``cap`` is dropped unread.
    """

    def __init__(self, handle: BinaryIO, cap: int = MAX_RECORD_BYTES) -> None:
        self.handle = handle
        self.cap = cap
        self.end = handle.tell()

    def __iter__(self) -> Iterator[bytes]:
        for data, start, end in self.spans():
            yield data[start:end]

    def spans(self) -> Iterator[tuple[bytes, int, int]]:
        """Each complete line as ``(buffer, start, end)``, not copied out of the chunk read: a
        caller that skips most lines (tool results, most of the bytes) never copies them."""
        pending = b""  # the start of a line whose newline is not read yet
        skipping = False  # the line being read is over the cap: its bytes are dropped
        while chunk := self.handle.read(_READ):
            data = pending + chunk if pending else chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no newline in sight: the line goes on
                skipping = skipping or len(data) > self.cap
                pending = b"" if skipping else data
                continue
            start = 0
            if skipping:  # the end of the over-long line
                start = data.find(b"\n") + 1
                skipping = False
            pending = data[cut:]
            self.end = self.handle.tell() - len(pending)
            while start < cut:
                newline = data.find(b"\n", start, cut)
                if newline - start <= self.cap:
                    yield data, start, newline
                start = newline + 1
