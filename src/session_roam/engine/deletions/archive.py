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
import logging
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import TEMP_PREFIX, atomic_write, fsync_dir, make_private_dirs
from session_roam.engine.core.paths import ensure_inside
from session_roam.engine.core.safefs import LinkRefused, read_bytes_nofollow, refuse_links
from session_roam.engine.core.store import is_conflict_name
from session_roam.engine.deletions.reassert import SKIP_PREFIXES, held_files, session_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
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


def _held_entries(projects_dir: Path) -> Iterator[tuple[str, int, int]]:
    """``reassert.held_files`` as (relpath, inode, device), from one ``scandir`` per folder.

    The same files, found with one system call per folder instead of two per file (the walk
    runs before every claude start, over every session this machine holds): a directory
    entry's type and inode come with the listing; the device is the folder's, which a file in
    it shares (a mount point is a folder, never a regular file).
    """
    pending = [("", os.fspath(projects_dir))]
    while pending:
        relative, folder = pending.pop()
        try:
            device = os.stat(folder).st_dev  # the folder scandir lists
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue  # gone or unreadable since it was listed, as os.walk would skip it
        for entry in entries:
            name = entry.name
            if not relative and name.startswith("."):
                continue  # .stfolder, .stignore, .roam
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((f"{relative}{name}/", entry.path))
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue  # a link (never followed) or something that is not a file
            except OSError:
                continue
            if name.startswith(SKIP_PREFIXES) or is_conflict_name(name):
                continue
            yield f"{relative}{name}", entry.inode(), device


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
    temp = target.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}.tmp"
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
    files = linked = copied = 0
    touched: set[Path] = set()
    base = os.fspath(root)
    for relpath, inode, device in _held_entries(projects_dir):
        files += 1
        if _archived_as(f"{base}/{relpath}", inode, device):
            continue  # the archive's link is this very file: nothing changed
        source, target = projects_dir / relpath, root / relpath
        try:
            if _link_or_copy(projects_dir, source, target):
                linked += 1
            else:
                copied += 1
        except (FileNotFoundError, LinkRefused):
            continue  # replaced or removed while we walked; the next refresh sees it
        touched.add(target.parent)
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
    """Archived files whose synced path is gone, except sessions removed on purpose."""
    root = archive if archive is not None else archive_dir()
    lost: list[LostFile] = []
    for relpath in held_files(root):
        session = session_of(relpath)
        if os.path.lexists(projects_dir / relpath) or is_tombstoned(session):
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
