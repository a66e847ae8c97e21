"""The content-addressed store under the backups: each distinct content kept once.

``backups/.objects/<sha256[:2]>/<sha256>`` holds one copy of every content any backup saved,
and a backup's files are hard links to it. So a repeated merge, or a killed one run again,
backs up the same bytes at the cost of directory entries, while every backup still shows its
files byte for byte where undo and people look for them. A damaged object is never linked
again: the next backup of that content stores it afresh. Where hard links fail (some FUSE and
network file systems) a backup gets a plain copy, as before the store.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import TYPE_CHECKING, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import FILE_MODE, atomic_write, fsync_dir, make_private_dirs
from session_roam.engine.core.temps import temp_prefix

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["OBJECTS", "adopt_into_store", "backups_root", "objects_root", "store_file"]

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


def store_file(target: Path, data: bytes) -> str:
    """Save ``data`` at ``target`` (which must not exist) as a hard link to its object, writing
    the object if it is new; return the sha256."""
    digest = _sha256(data)
    obj = _object_path(digest)
    if not _object_holds(obj, digest, len(data)):
        if not obj.parent.is_dir():
            make_private_dirs(obj.parent)
            fsync_dir(obj.parent.parent)
        atomic_write(obj, data, mode=FILE_MODE)
    make_private_dirs(target.parent)
    try:
        os.link(obj, target)
    except OSError:  # no hard links here, or too many to one inode: a plain copy
        atomic_write(target, data, mode=FILE_MODE)
    return digest


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
