"""A local archive of hard links to every session file, for ``roam restore`` with no peer up.

``$XDG_STATE_HOME/session-roam/archive/<folder-relative path>`` is a second name for the same
inode as the file in the synced folder. When Claude Code's clean-up or an ``rm -rf`` unlinks
the synced path, the bytes stay reachable through the archive, and ``roam restore`` links them
back. It lives outside the synced folder, so it never travels and no peer can delete it.

Cost and bound (docs/design/deletions.md): while a session exists, its archive entry costs no
space (one directory entry; same inode). Syncthing replaces a file it receives by rename (a new
inode), and roam's merge does the same, so ``refresh`` relinks each entry whose inode differs,
which frees the old bytes: the archive never holds more than one version of a file. A file lost
from the synced folder keeps its bytes in the archive until it is restored or ``roam rm``
removes it on purpose. Where a hard link is impossible (another file system) the entry is a
copy, written atomically.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import TEMP_PREFIX, atomic_write, fsync_dir, make_private_dirs
from session_roam.engine.core.paths import ensure_inside
from session_roam.engine.core.safefs import LinkRefused, read_bytes_nofollow, refuse_links
from session_roam.engine.core.store import being_replaced, is_conflict_name
from session_roam.engine.deletions.reassert import SKIP_PREFIXES, held_files, session_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path

__all__ = [
    "ArchiveRefresh",
    "LostFile",
    "archive_before_launch",
    "archive_dir",
    "drop_from_archive",
    "lost_files",
    "refresh_archive",
    "restore_file",
    "restore_files",
]

log = logging.getLogger(__name__)

_NO_LINK: Final = (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP)
#: The folders a refresh found fully archived, in a folder of its own in the archive's root
#: (a dot name: never an entry, ``held_files`` skips it; writing it leaves the root as it was).
_STATE_NAME: Final = ".state/unchanged.json"
#: A folder's record is kept only when its last change is older than this (``_settled``).
_SETTLED_NS: Final = 2_000_000_000
_RECORD_LEN: Final = 8  # the folder key (6), its file count, its subfolders


@dataclass(frozen=True, slots=True)
class ArchiveRefresh:
    """``linked``: entries made or relinked; ``copied``: entries that had to be copies."""

    files: int
    linked: int
    copied: int


@dataclass(frozen=True, slots=True)
class LostFile:
    """A file the archive holds whose path in the synced folder is gone."""

    relpath: str
    session: str
    size: int


def archive_dir() -> Path:
    """``$XDG_STATE_HOME/session-roam/archive`` (0700, never synced)."""
    folder = xdg.state_dir() / "archive"
    make_private_dirs(folder)
    return folder


def _list_folder(folder: str, top: bool) -> tuple[int, list[str], list[tuple[str, int]]] | None:
    """One folder of ``reassert.held_files``'s walk, from one ``scandir``: its device, its
    subfolders (never a link) and the (name, inode) of the files the deletion policy protects.

    A directory entry's type and inode come with the listing, so a file costs no system call;
    the device is the folder's, which a file in it shares (a mount point is never a file).
    None when the folder is gone or unreadable (os.walk skips those too).
    """
    try:
        device = os.stat(folder).st_dev
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return None
    subfolders: list[str] = []
    held: list[tuple[str, int]] = []
    for entry in entries:
        name = entry.name
        if top and name.startswith("."):
            continue  # .stfolder, .stignore, .roam
        try:
            if entry.is_dir(follow_symlinks=False):
                subfolders.append(name)
                continue
            if not entry.is_file(follow_symlinks=False):
                continue  # a link (never followed) or something that is not a file
        except OSError:
            continue
        if not name.startswith(SKIP_PREFIXES) and not is_conflict_name(name):
            held.append((name, entry.inode()))
    return device, subfolders, held


def _folder_key(folder: str, archived: str) -> list[int] | None:
    """What says that neither a folder nor its archive folder changed: a rename, link or
    removal in a folder moves its mtime (and ctime, which nobody can set back)."""
    try:
        here, there = os.stat(folder), os.stat(archived)
    except OSError:
        return None
    return [
        *(here.st_ino, here.st_mtime_ns, here.st_ctime_ns),
        *(there.st_ino, there.st_mtime_ns, there.st_ctime_ns),
    ]


def _settled(key: list[int]) -> bool:
    """A folder changed in the clock tick it is looked at could change again in that tick
    without moving its mtime: its record is kept only once the last change is older."""
    return time.time_ns() - max(key[1], key[2], key[4], key[5]) > _SETTLED_NS


def _load_unchanged(root: Path, projects_dir: Path) -> dict[str, list[Any]]:
    """``_save_unchanged``'s records; a record of any other shape is left out (looked at)."""
    try:
        state = json.loads(read_bytes_nofollow(root / _STATE_NAME, root))
    except (OSError, LinkRefused, ValueError):
        return {}
    if not isinstance(state, dict) or state.get("projects") != os.fspath(projects_dir):
        return {}
    folders = state.get("folders")
    return {
        relative: record
        for relative, record in (folders.items() if isinstance(folders, dict) else ())
        if isinstance(record, list) and len(record) == _RECORD_LEN and _well_formed(record)
    }


def _well_formed(record: list[Any]) -> bool:
    *numbers, names = record
    return all(type(n) is int for n in numbers) and (
        isinstance(names, list) and all(isinstance(n, str) and "/" not in n for n in names)
    )


def _save_unchanged(root: Path, projects_dir: Path, folders: dict[str, list[Any]]) -> None:
    """The folders found fully archived, for the next refresh to skip (only a hint: a lost
    or stale record only makes that refresh look at the folder again)."""
    state = {"projects": os.fspath(projects_dir), "folders": folders}
    make_private_dirs((root / _STATE_NAME).parent)
    atomic_write(root / _STATE_NAME, json.dumps(state, separators=(",", ":")).encode())


def _archived_as(target: str, inode: int, device: int) -> bool:
    try:
        held = os.stat(target)
    except OSError:
        return False
    return held.st_ino == inode and held.st_dev == device


def _link_or_copy(projects_dir: Path, source: Path, target: Path) -> bool:
    """Make ``target`` the same file as ``source``, atomically; False when it had to copy.

    ``source`` was a regular file when the walk saw it, but a peer may swap it (or a folder
    above it) for a link since: checked again, and a copy is read with ``O_NOFOLLOW``, so the
    archive never holds a file from outside the synced folder (``LinkRefused`` instead).
    """
    refuse_links(projects_dir, source)
    make_private_dirs(target.parent)
    temp = target.parent / f"{TEMP_PREFIX}{os.urandom(16).hex()}.tmp"  # uuid4().hex's alphabet
    try:
        os.link(source, temp, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        atomic_write(target, read_bytes_nofollow(source, projects_dir))
        return False
    try:
        temp.replace(target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return True


def refresh_archive(projects_dir: Path, archive: Path | None = None) -> ArchiveRefresh:
    """Point the archive at the current version of every protected file in ``projects_dir``.

    Run before Claude Code starts (its clean-up runs at start-up), by ``roam watch`` and by
    setup. Entries of files that are gone are kept: that is what the archive is for.
    """
    root = archive if archive is not None else archive_dir()
    known = _load_unchanged(root, projects_dir)
    unchanged: dict[str, list[Any]] = {}
    files = linked = copied = 0
    touched: set[Path] = set()
    top, base = os.fspath(projects_dir), os.fspath(root)
    pending = [""]  # folder paths relative to both roots, each ending with "/"
    while pending:
        relative = pending.pop()
        key = _folder_key(f"{top}/{relative}", f"{base}/{relative}")
        record = known.get(relative)
        if key is not None and record is not None and record[:6] == key:
            files += record[6]  # nothing renamed, linked or removed here since: all archived
            pending.extend(f"{relative}{name}/" for name in record[7])
            unchanged[relative] = record
            continue
        listed = _list_folder(f"{top}/{relative}", not relative)
        if listed is None:
            continue
        device, subfolders, held = listed
        pending.extend(f"{relative}{name}/" for name in subfolders)
        archived = key is not None
        for name, inode in held:
            files += 1
            relpath = f"{relative}{name}"
            if _archived_as(f"{base}/{relpath}", inode, device):
                continue  # the archive's link is this very file: nothing changed
            archived = False
            source, target = projects_dir / relpath, root / relpath
            try:
                if _link_or_copy(projects_dir, source, target):
                    linked += 1
                else:
                    copied += 1
            except (FileNotFoundError, LinkRefused):
                continue  # replaced or removed while we walked; the next refresh sees it
            touched.add(target.parent)
        if archived and key is not None and _settled(key):
            unchanged[relative] = [*key, len(held), subfolders]
    if unchanged != known:
        _save_unchanged(root, projects_dir, unchanged)
    _fsync_all(touched)
    return ArchiveRefresh(files=files, linked=linked, copied=copied)


def _fsync_all(folders: Iterable[Path]) -> None:
    """Each link is atomic on its own; making them durable once per folder, not per file, is
    what keeps a first refresh of 2,000 files from costing seconds (bench/restore)."""
    for folder in folders:
        fsync_dir(folder)


def lost_files(
    projects_dir: Path,
    archive: Path | None = None,
    *,
    is_tombstoned: Callable[[str], bool] = lambda _session: False,
) -> list[LostFile]:
    """Archived files whose synced path is gone, except sessions removed on purpose, and
    files Syncthing is replacing (missing only for the moment of its rename: ``being_replaced``)."""
    root = archive if archive is not None else archive_dir()
    lost: list[LostFile] = []
    synced = str(projects_dir)
    for relpath in held_files(root):
        session = session_of(relpath)
        # a string, not a Path: the archive holds every session file (87,000 at 50,000)
        if os.path.lexists(f"{synced}/{relpath}") or is_tombstoned(session):
            continue
        if being_replaced(projects_dir / relpath):
            continue
        size = (root / relpath).stat().st_size
        lost.append(LostFile(relpath=relpath, session=session, size=size))
    return lost


def restore_file(
    projects_dir: Path, relpath: str, archive: Path | None = None, *, sync: bool = True
) -> bool:
    """Put one archived file back at its path; False when something is already there.

    ``os.link`` never replaces an existing name, so a newer file written meanwhile is kept.
    ``sync=False`` leaves the folder's fsync to the caller (``restore_files``).
    """
    root = archive if archive is not None else archive_dir()
    source, target = root / relpath, projects_dir / relpath
    refuse_links(projects_dir, target.parent)  # before mkdir: never create or write via a link
    make_private_dirs(target.parent)
    ensure_inside(target.parent / "x", projects_dir)  # no symlinked folder leads outside
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        if os.path.lexists(target):
            return False
        atomic_write(target, read_bytes_nofollow(source))
    if sync:
        fsync_dir(target.parent)
    return True


def restore_files(
    projects_dir: Path,
    relpaths: Sequence[str],
    archive: Path | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[str], list[str]]:
    """``restore_file`` for each path, folders made durable once at the end: (restored, kept).

    A path whose folder is now a link (a peer's, say) is kept out, with a warning: one planted
    link must not stop every other session from coming back.
    """
    root = archive if archive is not None else archive_dir()
    restored: list[str] = []
    kept: list[str] = []
    for index, relpath in enumerate(relpaths, start=1):
        try:
            done = restore_file(projects_dir, relpath, root, sync=False)
        except LinkRefused as exc:
            log.warning("Not restoring %s: %s", relpath, exc.message)
            done = False
        (restored if done else kept).append(relpath)
        if progress is not None:
            progress(index, len(relpaths))
    _fsync_all({(projects_dir / relpath).parent for relpath in restored})
    return restored, kept


def drop_from_archive(relpaths: Iterable[str], archive: Path | None = None) -> None:
    """Forget archive entries (after ``roam rm`` has backed their bytes up)."""
    root = archive if archive is not None else archive_dir()
    for relpath in relpaths:
        with contextlib.suppress(FileNotFoundError):
            (root / relpath).unlink()


def archive_before_launch(projects_dir: Path) -> None:
    """Refresh the archive right before Claude Code starts: its clean-up runs at start-up.

    A failure is logged, never fatal: the archive is a second line of defence (``ignoreDelete``
    and ``cleanupPeriodDays`` are the first) and must not stop a resume.
    """
    try:
        refresh_archive(projects_dir)
    except OSError as exc:
        log.warning("Could not refresh the session archive before starting claude: %s", exc)
