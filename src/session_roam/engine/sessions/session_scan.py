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
import stat
from typing import TYPE_CHECKING, Final, NamedTuple

from session_roam.engine.core.safefs import MAX_LINKS_REPORTED, is_project_name, is_utf8_name
from session_roam.engine.core.store import (
    is_conflict_name,
    is_temp_name,
    original_name,
    scandir_entries,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["ScannedSession", "Tree", "Trees", "scan_sessions", "walk_projects"]

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


def _copies_below(folder: str, links: list[str] | None, dirs: list[str] | None = None) -> int:
    """The conflict copies below ``folder``; ``dirs`` hears each folder's ``path\tmtime_ns``,
    taken before it is listed (``Trees``)."""
    if dirs is not None:
        try:
            dirs.append(f"{folder}\t{os.lstat(folder).st_mtime_ns}")
        except OSError:
            dirs.append(f"{folder}\t-1")  # gone meanwhile: never matches
    count = 0
    for entry in scandir_entries(folder):
        if entry.is_symlink():
            if links is not None:
                links.append(entry.path)
        elif entry.is_dir(follow_symlinks=False):
            count += _copies_below(entry.path, links, dirs)
        elif is_conflict_name(entry.name) and not is_temp_name(entry.name):
            count += 1
    return count


class Tree(NamedTuple):
    """What a session's sibling folder held when it was last listed."""

    #: ``path\tmtime_ns`` of the folder and of every folder below it, one a line.
    dirs: str
    copies: int
    #: The symbolic links below it, one a line.
    links: str


class Trees:
    """A project's session sibling folders as last listed (``Tree`` by path), so that a walk
    lists again only those whose folders changed: a new or renamed entry (a conflict copy,
    a link) moves its folder's mtime. One ``lstat`` per folder instead of a listing, which is
    most of a walk at 50,000 sessions (their ``subagents`` folders). A tree whose folders
    changed in the last seconds (``racy_ns``: a change in the same clock tick as the listing
    would not move the mtime) is not kept; the next walk lists it again."""

    def __init__(self, known: dict[str, Tree], racy_ns: int) -> None:
        self.known = known
        self.racy_ns = racy_ns
        #: Listed again by this walk: the tree to keep, or None to forget it.
        self.changed: dict[str, Tree | None] = {}

    def copies(self, folder: str, links: list[str] | None) -> int:
        tree = self.known.pop(folder, None)
        if tree is not None and _unchanged(tree.dirs):
            if links is not None and tree.links:
                links.extend(tree.links.split("\n"))
            return tree.copies
        dirs: list[str] = []
        found: list[str] = []
        count = _copies_below(folder, found, dirs)
        if links is not None:
            links.extend(found)
        racy = any(int(line.rpartition("\t")[2]) >= self.racy_ns for line in dirs)
        keep = not racy and all(map(_storable, (folder, *dirs, *found)))
        self.changed[folder] = Tree("\n".join(dirs), count, "\n".join(found)) if keep else None
        return count

    @property
    def gone(self) -> list[str]:
        """Known folders the walk did not pass (call after the walk of the project)."""
        return list(self.known)


def _storable(name: str) -> bool:
    """Whether ``name`` survives the ``trees`` table: its lists are joined with newlines and
    kept as UTF-8 text, so a name with a newline (it would split in two when read back) or
    bytes that are not UTF-8 (the insert would fail) makes the folder be listed every time."""
    return "\n" not in name and is_utf8_name(name)


def _unchanged(dirs: str) -> bool:
    for line in dirs.split("\n"):
        path, _, mtime = line.rpartition("\t")
        try:
            info = os.lstat(path)
        except OSError:
            return False
        if info.st_mtime_ns != int(mtime) or not stat.S_ISDIR(info.st_mode):
            return False
    return True


def _project(
    folder: str, project: str, links: list[str] | None, trees: Trees | None = None
) -> Iterator[ScannedSession]:
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
                if trees is None:
                    inside = _copies_below(entry.path, links)
                else:
                    inside = trees.copies(entry.path, links)
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
    projects_root: str,
    projects: tuple[str, ...] | None = None,
    links: list[str] | None = None,
    trees: Callable[[str], Trees | None] | None = None,
) -> Iterator[tuple[str, list[ScannedSession]]]:
    """``scan_sessions`` one project folder at a time, in name order: (its name, its sessions).
    A caller that compares as it goes never holds 50,000 entries at once. ``trees`` gives
    each project's ``Trees`` (by name), which the walk consults and updates."""
    if projects is not None:
        links = None
        names = sorted(
            name
            for name in projects
            if is_project_name(name)
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
            elif is_project_name(entry.name):
                names.append(entry.name)
            elif links is not None and entry.name.startswith("."):
                _links_below(entry.path, links)
        names.sort()
    for name in names:
        known = trees(name) if trees is not None else None
        yield name, list(_project(os.path.join(projects_root, name), name, links, known))
    if links:
        links.sort()
        del links[MAX_LINKS_REPORTED:]
