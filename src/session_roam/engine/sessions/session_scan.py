"""One stat walk of the projects folder: every session's main file and its conflict copies.

This is what the summary cache checks itself against, on every ``roam ls``: one ``os.scandir``
per folder and one ``lstat`` per main file, no file opened. It finds what
``store.list_all_sessions`` finds (dot folders, temp files and symlinks skipped, conflict
copies beside the transcript and anywhere in its sibling folder counted) without its per-file
link checks: ``DirEntry`` already says, from the folder listing, what is a link.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.store import (
    is_conflict_name,
    is_temp_name,
    original_name,
    scandir_entries,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ScannedSession", "scan_sessions"]

_ID: Final = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_MAIN_RE: Final = re.compile(rf"({_ID})\.jsonl")
_DIR_RE: Final = re.compile(_ID)


@dataclass(frozen=True, slots=True)
class ScannedSession:
    """A session's main file as the walk saw it (``size`` is -1 when there is none)."""

    session_id: str
    project: str
    path: str
    size: int
    mtime_ns: int
    ino: int
    ctime_ns: int
    conflict_copies: int

    @property
    def main_exists(self) -> bool:
        return self.size >= 0


def _copies_below(folder: str) -> int:
    count = 0
    for entry in scandir_entries(folder):
        if entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            count += _copies_below(entry.path)
        elif is_conflict_name(entry.name) and not is_temp_name(entry.name):
            count += 1
    return count


def _project(folder: str, project: str) -> Iterator[ScannedSession]:
    stats: dict[str, os.stat_result] = {}
    copies: dict[str, int] = {}
    for entry in scandir_entries(folder):
        name = entry.name
        if len(name) == 42 and name.endswith(".jsonl"):  # the usual case, checked first
            if _MAIN_RE.fullmatch(name) is None or not entry.is_file(follow_symlinks=False):
                continue
            try:
                stats[name[:36]] = entry.stat(follow_symlinks=False)
            except OSError:
                continue
        elif is_temp_name(name) or entry.is_symlink():
            continue
        elif entry.is_dir(follow_symlinks=False):
            if _DIR_RE.fullmatch(name):
                inside = _copies_below(entry.path)
                if inside:
                    copies[name] = copies.get(name, 0) + inside
        elif is_conflict_name(name) and (match := _MAIN_RE.fullmatch(original_name(name))):
            copies[match.group(1)] = copies.get(match.group(1), 0) + 1
    for session_id in sorted(stats.keys() | copies.keys()):
        info = stats.get(session_id)
        yield ScannedSession(
            session_id,
            project,
            f"{folder}/{session_id}.jsonl",
            -1 if info is None else info.st_size,
            0 if info is None else info.st_mtime_ns,
            0 if info is None else info.st_ino,
            0 if info is None else info.st_ctime_ns,
            copies.get(session_id, 0),
        )


def scan_sessions(
    projects_root: str, projects: tuple[str, ...] | None = None
) -> list[ScannedSession]:
    """Every session below ``projects_root`` (or in the named project folders only)."""
    if projects is None:
        names = sorted(
            e.name
            for e in scandir_entries(projects_root)
            if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
        )
    else:
        names = sorted(
            name
            for name in projects
            if not name.startswith(".")
            and os.path.isdir(path := os.path.join(projects_root, name))
            and not os.path.islink(path)
        )
    found: list[ScannedSession] = []
    for name in names:
        found.extend(_project(os.path.join(projects_root, name), name))
    return found
