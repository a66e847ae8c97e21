"""The content-addressed store under the backups: each distinct content kept once.

``backups/.objects/<sha256[:2]>/<sha256>`` holds one copy of every content any backup saved,
and a backup's files are hard links to it. So a repeated merge, or a killed one run again,
backs up the same bytes at the cost of directory entries, while every backup still shows its
files byte for byte where undo and people look for them. A damaged object is never linked
again: the next backup of that content stores it afresh. Where hard links fail (some FUSE and
network file systems) a backup gets a plain copy, as before the store.

A merge saves the version it is about to replace or remove without copying it: the object is
a hard link to the synced file itself (``source``), checked after linking to be the very inode
that was read, with the size and mtime it had then. The synced file is only ever replaced by a
rename or removed afterwards, never rewritten in place, so the object keeps exactly the bytes
that were merged; where the link is refused (another file system) or the file changed, the
bytes are written as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import FILE_MODE, atomic_write, fsync_dir, make_private_dirs
from session_roam.engine.core.temps import temp_prefix

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "OBJECTS",
    "Identity",
    "adopt_into_store",
    "backups_root",
    "drop_source_link",
    "file_identity",
    "objects_root",
    "store_file",
    "unshare",
]

#: A file's identity as far as a change is concerned: (device, inode, size, mtime in ns).
Identity = tuple[int, int, int, int]

#: The store's folder under the backups root (a name no session id can have).
OBJECTS: Final = ".objects"


def backups_root() -> Path:
    root = xdg.state_dir() / "backups"
    make_private_dirs(root)
    return root


def objects_root() -> Path:
    """The content-addressed store every backup's files are hard links to."""
    root = backups_root() / OBJECTS
    make_private_dirs(root)
    return root


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _object_path(digest: str) -> Path:
    return objects_root() / digest[:2] / digest


def _object_holds(path: Path, digest: str, size: int) -> bool:
    """Whether the stored object at ``path`` is intact (a damaged one is stored again)."""
    try:
        info = path.lstat()
        return (
            stat.S_ISREG(info.st_mode)
            and info.st_size == size
            and _sha256(path.read_bytes()) == digest
        )
    except OSError:
        return False


def file_identity(path: str | os.PathLike[str]) -> Identity | None:
    """``path``'s (device, inode, size, mtime_ns) without following a link; None if absent."""
    with contextlib.suppress(OSError):
        info = os.lstat(path)
        if stat.S_ISREG(info.st_mode):
            return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    return None


def _link_source(obj: Path, source: Path, identity: Identity) -> bool:
    """Make ``obj`` (absent) a hard link to ``source`` if that is still the file ``identity``
    describes; fsynced, since a synced file's bytes may not be on disk yet (Claude Code never
    fsyncs). A kill between the link and the check leaves at worst an object that fails
    ``_object_holds`` next time, and is stored again."""
    if os.path.lexists(obj):
        return False  # a damaged object: written again by a rename over it
    try:
        os.link(source, obj)
    except OSError:
        return False
    if file_identity(obj) != identity:
        os.unlink(obj)
        return False
    fd = os.open(obj, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def store_file(
    target: Path,
    data: bytes,
    *,
    digest: str | None = None,
    source: Path | None = None,
    identity: Identity | None = None,
) -> tuple[str, bool]:
    """Save ``data`` at ``target`` (which must not exist) as a hard link to its object, writing
    the object if it is new; return the sha256 and whether the object is ``source`` itself.

    ``digest`` is ``data``'s sha256 when the caller has it already (it is not computed twice).
    With ``source`` and its ``identity`` when ``data`` was read, a new object is a hard link to
    ``source`` instead of a copy: the caller must then never let ``source`` be rewritten in
    place (it replaces it by a rename, or removes it).
    """
    digest = _sha256(data) if digest is None else digest
    obj = _object_path(digest)
    linked = False
    if not _object_holds(obj, digest, len(data)):
        if not obj.parent.is_dir():
            make_private_dirs(obj.parent)
            fsync_dir(obj.parent.parent)
        if source is not None and identity is not None and _link_source(obj, source, identity):
            linked = True
            fsync_dir(obj.parent)
        else:
            atomic_write(obj, data, mode=FILE_MODE)
    make_private_dirs(target.parent)
    try:
        os.link(obj, target)
    except OSError:  # no hard links here, or too many to one inode: a plain copy
        atomic_write(target, data, mode=FILE_MODE)
        linked = False
    return digest, linked


def unshare(folder: Path, synced: Mapping[tuple[int, int], tuple[bytes, str]]) -> None:
    """Make every file under ``folder`` (a backup) that is a hard link to one of the ``synced``
    files, named by (device, inode) with the bytes and sha256 read from them, a copy of its own,
    and every object of theirs too: those synced files stay in place (a merge that stopped, a
    copy that changed) and may be written to or removed by Syncthing.

    Two synced files with the same bytes have one object, a hard link to the first of them: the
    second one's backup file is a link to the first synced file, not to its own. So each file
    is compared with every synced file, not only with the one it was saved from.
    """
    for data, digest in synced.values():
        held = file_identity(_object_path(digest))
        if held is not None and held[:2] in synced:
            atomic_write(_object_path(digest), data, mode=FILE_MODE)
    for root, _dirs, names in os.walk(folder):
        for name in names:
            target = Path(root) / name
            now = file_identity(target)
            if now is None or now[:2] not in synced:
                continue
            data, digest = synced[now[:2]]
            obj = _object_path(digest)
            if not _object_holds(obj, digest, len(data)):
                make_private_dirs(obj.parent)
                atomic_write(obj, data, mode=FILE_MODE)
            temp = target.with_name(f"{temp_prefix()}{digest[:12]}")
            os.link(obj, temp)
            os.replace(temp, target)
            fsync_dir(target.parent)


def drop_source_link(digest: str, identity: Identity) -> None:
    """Remove the object of ``digest`` if it is the synced file ``identity`` names (hard-linked
    by ``store_file`` for a backup that is then discarded): the synced file stays, so the name
    holds no byte of its own, and no later backup may link to a file Claude Code can append to.
    Another backup linked to it meanwhile keeps its own link (``store_file`` copies instead
    when the object is gone)."""
    obj = _object_path(digest)
    now = file_identity(obj)
    if now is not None and now[:2] == identity[:2]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(obj)
        fsync_dir(obj.parent)


def adopt_into_store(path: Path) -> bool:
    """Make ``path``, a file of a backup made before the store, a hard link to its object, so
    its bytes are kept once; True if that freed or shared anything. The bytes never change."""
    data = path.read_bytes()
    digest = _sha256(data)
    obj = _object_path(digest)
    make_private_dirs(obj.parent)
    if not obj.exists():
        os.link(path, obj)  # the file becomes the object: nothing copied, nothing freed yet
    elif _object_holds(obj, digest, len(data)):
        temp = path.with_name(f"{temp_prefix()}{digest[:12]}")
        os.link(obj, temp)
        os.replace(temp, path)  # same bytes, now stored once
    else:
        return False
    fsync_dir(obj.parent)
    fsync_dir(path.parent)
    return True
