"""One rule for the synced folder: a symlink in it is data, never a way somewhere else.

Syncthing carries symlinks as symlinks, so a peer (buggy, compromised, or a person's copy) can
plant ``<id>.jsonl -> ../../history.jsonl`` or a project folder that points elsewhere. Reading
through such a link would put a file from outside the folder into a merge, the search index or
a backup; writing through it would change that file, and Syncthing would ship the result back.

So every reader and writer of the synced folder goes through here:

- ``read_bytes_nofollow`` opens with ``O_NOFOLLOW`` (the last component) after checking that no
  folder between the synced root and the file is a link (the earlier components);
- ``has_link_below`` is the lstat walk a writer runs before it creates or replaces a file;
- ``find_links`` lists every link in the folder without following any, for ``roam verify`` and
  ``roam conflicts list`` to report as something to look at.

A link is never merged, indexed, listed as a session, archived or written through; it is
reported, and left where it is (it may be the peer's business, and deleting it is not ours).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Final

from session_roam.errors import InvalidInput

__all__ = [
    "MAX_LINKS_REPORTED",
    "LinkRefused",
    "find_links",
    "has_link_below",
    "is_link",
    "is_project_name",
    "is_utf8_name",
    "open_nofollow",
    "read_bytes_nofollow",
    "refuse_links",
    "shown_name",
]

#: ``find_links`` stops after this many: a report, not an inventory of a hostile folder.
MAX_LINKS_REPORTED: Final = 200


class LinkRefused(InvalidInput):
    """A path in the synced folder is (or goes through) a symlink, so roam will not use it."""


def is_project_name(name: str) -> bool:
    """True when a folder of ``projects/`` may be a project folder, as Claude Code names them.

    Dot folders are not projects: roam's `.roam/` state and Syncthing's `.stversions/` (whose
    archived names would otherwise look like sessions and conflict copies). Nor is a name that
    is not UTF-8 (Python hands it over with surrogate escapes): Claude Code writes only letters,
    digits and ``-`` there, Syncthing never syncs such a name, and SQLite and JSON cannot hold
    it, so the walks that list and search sessions skip it and `roam verify` names it (the
    archive's walk still keeps a copy of what it holds).
    """
    return not name.startswith(".") and is_utf8_name(name)


def is_utf8_name(name: str) -> bool:
    """False for a file name whose bytes are not UTF-8 (Python hands it over with surrogate
    escapes): SQLite's text and JSON cannot hold it."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_name(name: str) -> str:
    """A file name as people can read it: bytes that are not UTF-8 as ``\\xff`` escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_link(path: Path) -> bool:
    """True when ``path`` itself is a symlink (dangling or not); False when absent."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def has_link_below(root: Path, path: Path) -> bool:
    """True when ``path`` or any folder between ``root`` and it is a symlink.

    ``root`` itself is trusted (it is the user's choice, and may well be a link to another
    disk); everything below it came through sync. A ``path`` outside ``root`` is checked from
    its own filesystem root, component by component.
    """
    try:
        relative = path.relative_to(root)
        base = root
    except ValueError:
        relative = path.relative_to(path.anchor) if path.is_absolute() else path
        base = Path(path.anchor) if path.is_absolute() else Path()
    current = base
    for part in relative.parts:
        if part in ("..", ""):
            return True  # never produced by roam's own joins: treat as hostile
        current = current / part
        if is_link(current):
            return True
    return False


def _refusal(path: Path) -> LinkRefused:
    return LinkRefused(
        f"{path} is a symbolic link (or inside one) in the synced folder; roam does not follow "
        "links there.",
        hint="Look at the link with `ls -l` and replace it with the real file, or remove it; "
        "`roam verify` lists every link in the folder.",
    )


def refuse_links(root: Path, path: Path) -> None:
    """Raise ``LinkRefused`` when ``path`` is, or lies under, a symlink below ``root``."""
    if has_link_below(root, path):
        raise _refusal(path)


def open_nofollow(path: str | os.PathLike[str], flags: int, mode: int = 0o600) -> int:
    """``os.open`` that fails with ``LinkRefused`` instead of following a final symlink."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refusal(Path(path)) from None
        raise


def read_bytes_nofollow(path: Path, root: Path | None = None) -> bytes:
    """The bytes of the regular file ``path``; ``LinkRefused`` for a link, ``OSError`` as usual.

    With ``root``, folders between it and ``path`` are checked too. A FIFO or device planted in
    the folder is refused the same way (opened non-blocking, then checked with ``fstat``), so a
    read never hangs on it.
    """
    if root is not None:
        refuse_links(root, path.parent)
    fd = open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise _refusal(path)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def find_links(root: Path, *, limit: int = MAX_LINKS_REPORTED) -> list[Path]:
    """Every symlink under ``root`` (files and folders), none followed, at most ``limit``.

    Folder by folder in name order, as ``os.walk`` would, but told what is a link by the
    folder listing itself (``DirEntry``): no ``lstat`` per file, which at 50,000 sessions was
    most of ``roam verify``.
    """
    found: list[Path] = []
    pending = [str(root)]
    while pending:
        try:
            with os.scandir(pending.pop()) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue
        below: list[str] = []
        for entry in entries:
            if entry.is_symlink():
                found.append(Path(entry.path))
                if len(found) >= limit:
                    return found
            elif entry.is_dir(follow_symlinks=False):
                below.append(entry.path)
        pending.extend(reversed(below))  # the first folder by name is walked next
    return found
