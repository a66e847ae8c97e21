"""Reading and writing companion files: bounded, no link followed, atomic, 0600.

A companion is addressed by ``(kind, name)``. On this machine it lives in Claude Code's config
folder; in transit in the session's sibling folder (``kinds.carried_dir``). Both sides are read
with ``O_NOFOLLOW`` and the folders between their root and the file checked with ``lstat``: the
carried side came through sync, and the local side must not be a way out of it either.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import TYPE_CHECKING, NamedTuple

from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.core.safefs import LinkRefused, has_link_below, read_bytes_nofollow
from session_roam.engine.core.store import being_replaced, read_settled, syncthing_target
from session_roam.engine.travel.kinds import (
    KINDS,
    MAX_COMPANION_BYTES,
    Kind,
    belongs,
    plan_slugs,
)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "CompanionKey",
    "carried_files",
    "local_files",
    "local_path",
    "read_companion",
    "sha256",
    "write_companion",
]


class CompanionKey(NamedTuple):
    kind: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


_BY_NAME = {kind.name: kind for kind in KINDS}


def kind_of(key: CompanionKey) -> Kind:
    return _BY_NAME[key.kind]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _regular_names(folder: Path) -> list[str]:
    """Names of the regular files directly in ``folder`` (links and folders skipped)."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = []
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_COMPANION_BYTES:
            names.append(entry.name)
    # a companion missing while Syncthing renames its new version in is one (read_companion
    # waits for it): skipped, its old text would be carried out over the new one at the exit
    for entry in entries:
        main = syncthing_target(entry.name)
        if main is not None and main not in names and being_replaced(folder / main):
            names.append(main)
    return sorted(names)


def local_path(config: Path, session_id: str, key: CompanionKey) -> Path:
    kind = kind_of(key)
    folder = config / kind.folder
    return (folder / session_id / key.name) if kind.per_session else folder / key.name


def local_files(config: Path, session_id: str, session_file: Path) -> dict[CompanionKey, Path]:
    """This session's companions in Claude Code's config folder, by key."""
    slugs = plan_slugs(session_file)
    found: dict[CompanionKey, Path] = {}
    for kind in KINDS:
        folder = config / kind.folder
        if kind.per_session:
            folder = folder / session_id
        if has_link_below(config, folder):
            continue
        for name in _regular_names(folder):
            ok = kind.accepts(name) if kind.per_session else belongs(kind, name, session_id, slugs)
            if ok:
                found[CompanionKey(kind.name, name)] = folder / name
    return found


def carried_files(carried: Path, root: Path) -> dict[CompanionKey, Path]:
    """The companions in a session's carried folder (below ``root``, the projects folder)."""
    found: dict[CompanionKey, Path] = {}
    if has_link_below(root, carried):
        return found
    for kind in KINDS:
        folder = carried / kind.name
        if has_link_below(root, folder):
            continue
        for name in _regular_names(folder):
            if kind.accepts(name):
                found[CompanionKey(kind.name, name)] = folder / name
    return found


def read_companion(path: Path, root: Path) -> bytes | None:
    """The bytes of one companion, or None when it is a link, too large or unreadable."""
    try:
        data = read_settled(lambda p: read_bytes_nofollow(p, root), path)
    except (LinkRefused, OSError):
        return None
    return data if len(data) <= MAX_COMPANION_BYTES else None


def write_companion(path: Path, root: Path, data: bytes, mtime_ns: int | None = None) -> bool:
    """Write atomically, 0600, folders 0700; False (nothing written) when a link is in the way."""
    if has_link_below(root, path):
        return False
    make_private_dirs(path.parent)
    if has_link_below(root, path):
        return False
    atomic_write(path, data, mode=0o600)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
    return True
