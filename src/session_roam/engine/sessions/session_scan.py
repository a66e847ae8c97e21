"""One stat walk of the projects folder: every session's main file and its conflict copies.

This is what the summary cache checks itself against, on every ``roam ls``: one ``os.scandir``
per folder and one ``lstat`` per main file, no file opened. It finds what
``store.list_all_sessions`` finds (dot folders, temp files and symlinks skipped, conflict
copies beside the transcript and anywhere in its sibling folder counted) without its per-file
link checks: ``DirEntry`` already says, from the folder listing, what is a link.

Given a ``links`` list, the same walk also goes through every other folder (dot folders, a
project's ``memory/``) and names each symbolic link it passes, for ``roam verify``'s
synced-data check: one walk of the folder instead of two.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Final, NamedTuple

from session_roam.engine.core.safefs import MAX_LINKS_REPORTED
from session_roam.engine.core.store import (
    is_conflict_name,
    is_temp_name,
    original_name,
    scandir_entries,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ScannedSession", "scan_sessions", "walk_projects"]

_ID: Final = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_MAIN_RE: Final = re.compile(rf"({_ID})\.jsonl")
_DIR_RE: Final = re.compile(_ID)


class ScannedSession(NamedTuple):
    """A session's main file as the walk saw it (``size`` is -1 when there is none).

    A tuple, not a dataclass: the walk makes one per session, 50,000 of them, and a frozen
    dataclass costs several times as much to make."""

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


def _links_below(folder: str, links: list[str]) -> None:
    """Every symbolic link below ``folder``, none followed (``safefs.find_links``' walk)."""
    for entry in scandir_entries(folder):
        if entry.is_symlink():
            links.append(entry.path)
        elif entry.is_dir(follow_symlinks=False):
            _links_below(entry.path, links)


def _copies_below(folder: str, links: list[str] | None) -> int:
    count = 0
    for entry in scandir_entries(folder):
        if entry.is_symlink():
            if links is not None:
                links.append(entry.path)
        elif entry.is_dir(follow_symlinks=False):
            count += _copies_below(entry.path, links)
        elif is_conflict_name(entry.name) and not is_temp_name(entry.name):
            count += 1
    return count


def _project(folder: str, project: str, links: list[str] | None) -> Iterator[ScannedSession]:
    stats: dict[str, os.stat_result] = {}
    copies: dict[str, int] = {}
    for entry in scandir_entries(folder):
        name = entry.name
        if entry.is_symlink():
            if links is not None:
                links.append(entry.path)
            continue
        if (  # the usual case, checked first
            len(name) == 42
            and name.endswith(".jsonl")
            and _MAIN_RE.fullmatch(name)
            and entry.is_file(follow_symlinks=False)
        ):
            try:
                stats[name[:36]] = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone since the listing
            continue
        if is_temp_name(name):
            continue
        if entry.is_dir(follow_symlinks=False):
            if _DIR_RE.fullmatch(name):
                inside = _copies_below(entry.path, links)
                if inside:
                    copies[name] = copies.get(name, 0) + inside
            elif links is not None:
                _links_below(entry.path, links)
        elif is_conflict_name(name) and (match := _MAIN_RE.fullmatch(original_name(name))):
            copies[match.group(1)] = copies.get(match.group(1), 0) + 1
    for session_id in sorted(stats.keys() | copies.keys() if copies else stats.keys()):
        info = stats.get(session_id)
        if info is None:
            path = f"{folder}/{session_id}.jsonl"
            yield ScannedSession(session_id, project, path, -1, 0, 0, 0, copies[session_id])
        else:
            yield ScannedSession(
                session_id,
                project,
                f"{folder}/{session_id}.jsonl",
                info.st_size,
                info.st_mtime_ns,
                info.st_ino,
                info.st_ctime_ns,
                copies.get(session_id, 0),
            )


def scan_sessions(
    projects_root: str, projects: tuple[str, ...] | None = None, links: list[str] | None = None
) -> list[ScannedSession]:
    """Every session below ``projects_root`` (or in the named project folders only).

    With ``links`` (a walk of the whole folder only), every symbolic link below
    ``projects_root`` is added to it (at most ``MAX_LINKS_REPORTED``, in name order)."""
    found: list[ScannedSession] = []
    for _name, sessions in walk_projects(projects_root, projects, links):
        found.extend(sessions)
    return found


def walk_projects(
    projects_root: str, projects: tuple[str, ...] | None = None, links: list[str] | None = None
) -> Iterator[tuple[str, list[ScannedSession]]]:
    """``scan_sessions`` one project folder at a time, in name order: (its name, its sessions).
    A caller that compares as it goes never holds 50,000 entries at once."""
    if projects is not None:
        links = None
        names = sorted(
            name
            for name in projects
            if not name.startswith(".")
            and os.path.isdir(path := os.path.join(projects_root, name))
            and not os.path.islink(path)
        )
    else:
        names = []
        for entry in scandir_entries(projects_root):
            if entry.is_symlink():
                if links is not None:
                    links.append(entry.path)
            elif not entry.is_dir(follow_symlinks=False):
                continue
            elif not entry.name.startswith("."):
                names.append(entry.name)
            elif links is not None:
                _links_below(entry.path, links)
        names.sort()
    for name in names:
        yield name, list(_project(os.path.join(projects_root, name), name, links))
    if links:
        links.sort()
        del links[MAX_LINKS_REPORTED:]
