"""Give a session back to the machine that deleted it: re-announce what this node still holds.

Every roam folder has ``ignoreDelete`` (``engine.stfolder``), so a deletion on one machine -
Claude Code's 30-day clean-up, ``rm -rf``, a wiped disk - leaves every other machine's copy at
its path. Syncthing's global state still says "deleted", though, and the deleting machine (and
any machine that joins later) would stay without the file. Measured on Syncthing 1.19.2: when a
holder changes the file's mtime and scans that path, its new version is concurrent with the
deletion, a deletion always loses such a conflict, and the deleting machine pulls the file back
byte for byte within about a second. The bytes are never touched, only the mtime.

Finding the candidates is cheap: one ``/rest/db/browse`` (the global tree without deleted
entries) compared with a directory walk of names, then ``/rest/db/file`` only for the few files
that are here but not in the global tree. Nothing is hashed.

Never re-announced: conflict copies (a merge deletes them on purpose and a peer's roam merges
its own copy again), roam's ``.roam/`` state, Syncthing's markers and temporary files, and
sessions a ``roam rm`` tombstone covers (``engine.tombstones``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.atomic import TEMP_PREFIX
from session_roam.engine.core.store import is_conflict_name

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = [
    "SKIP_PREFIXES",
    "ReassertResult",
    "global_names",
    "held_files",
    "reassert",
    "session_of",
]

log = logging.getLogger(__name__)

#: Prefixes of names that are never a user's data: Syncthing's and roam's own.
SKIP_PREFIXES: Final = (TEMP_PREFIX, ".syncthing.", "~syncthing~")


@dataclass(frozen=True, slots=True)
class ReassertResult:
    """What one pass did. ``announced`` are folder-relative paths, sorted."""

    announced: tuple[str, ...]
    skipped_tombstoned: tuple[str, ...] = ()


def held_files(projects_dir: Path, *, conflicts: bool = False) -> Iterator[str]:
    """Folder-relative paths of the files this node holds that the deletion policy protects.

    Top-level dot entries (``.stfolder``, ``.stignore``, ``.roam``) are skipped, as are
    temporary files anywhere and, unless ``conflicts``, conflict copies. Symlinks are never
    followed nor listed. ``os.walk``'s order (each folder's files by name, then its folders
    as listed), from one ``scandir`` per folder: what is a file, a folder or a link comes with
    the listing, not from two ``stat`` calls per file (roam's archive holds every session
    file: 87,000 of them at 50,000 sessions, seconds of ``roam verify`` that way).
    """
    yield from _held(str(projects_dir), conflicts=conflicts)


def _held(root: str, *, conflicts: bool) -> Iterator[str]:
    """Depth first, each folder's files (sorted) before its folders, with a stack of its own:
    a synced tree thousands of folders deep cannot exhaust the interpreter's recursion."""
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue  # as os.walk: a folder that cannot be listed is passed over
        files: list[str] = []
        below: list[os.DirEntry[str]] = []
        for entry in entries:
            if not prefix and entry.name.startswith("."):
                continue
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    below.append(entry)
                elif entry.is_file(follow_symlinks=False):
                    files.append(entry.name)
            except OSError:
                continue  # gone since the listing
        for name in sorted(files):
            if name.startswith(SKIP_PREFIXES) or (not conflicts and is_conflict_name(name)):
                continue
            yield prefix + name
        stack.extend((entry.path, f"{prefix}{entry.name}/") for entry in reversed(below))


def session_of(relpath: str) -> str:
    """The session a folder-relative path belongs to: ``<slug>/<id>.jsonl`` or ``<slug>/<id>/...``.

    Returns the ``<id>`` part (the file's stem for a transcript, the first folder for a
    companion), or ``""`` for a path outside any session (project memory, say).
    """
    parts = relpath.split("/")
    if len(parts) == 2 and parts[1].endswith(".jsonl"):
        return parts[1].removesuffix(".jsonl")
    if len(parts) >= 3:
        return parts[1]
    return ""


def _flatten(tree: Any, prefix: str, into: set[str]) -> None:
    # 1.19+ answers a list of {name, type, children}; older builds a dict name -> entry
    if isinstance(tree, list):
        for entry in tree:
            if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                name = prefix + entry["name"]
                if entry.get("type") == "FILE_INFO_TYPE_DIRECTORY":
                    _flatten(entry.get("children") or [], name + "/", into)
                else:
                    into.add(name)
    elif isinstance(tree, Mapping):
        for key, value in tree.items():
            if isinstance(value, Mapping):
                _flatten(value, f"{prefix}{key}/", into)
            else:
                into.add(prefix + str(key))


def global_names(client: SyncthingClient, folder: str) -> set[str]:
    """Every file in the folder's global state that is not deleted."""
    names: set[str] = set()
    _flatten(client.browse(folder), "", names)
    return names


def _deleted_elsewhere(client: SyncthingClient, folder: str, relpath: str) -> bool:
    info = client.file_info(folder, relpath)
    if info is None:
        return False
    glob = info.raw.get("global") or {}
    local = info.raw.get("local") or {}
    return bool(glob.get("deleted")) and not local.get("deleted") and not local.get("ignored")


def reassert(
    client: SyncthingClient,
    folder: str,
    projects_dir: Path,
    *,
    is_tombstoned: Callable[[str], bool] = lambda _session: False,
    dry_run: bool = False,
) -> ReassertResult:
    """Re-announce every file held here that the cluster's global state calls deleted."""
    present = global_names(client, folder)
    candidates = [p for p in held_files(projects_dir) if p not in present]
    announce: list[str] = []
    tombstoned: list[str] = []
    for relpath in candidates:
        if not _deleted_elsewhere(client, folder, relpath):
            continue  # not scanned yet, or ignored: Syncthing will announce it by itself
        if is_tombstoned(session_of(relpath)):
            tombstoned.append(relpath)
            continue
        announce.append(relpath)
    if announce and not dry_run:
        now = time.time()
        for relpath in announce:
            path = projects_dir / relpath
            try:
                atime = path.stat(follow_symlinks=False).st_atime
                os.utime(path, (atime, now), follow_symlinks=False)
            except FileNotFoundError:
                continue
        client.scan(folder, announce)
        log.info("Re-announced %d file(s) another machine deleted.", len(announce))
    return ReassertResult(announced=tuple(announce), skipped_tombstoned=tuple(tombstoned))
