"""Replace a file so that readers (Claude Code, Syncthing) see old bytes or new, never half.

A temp file in the same folder, written and fsynced, then renamed over the target, then the
folder fsynced so the rename itself survives a crash. The temp name starts with ``.roam-tmp-``
so that Syncthing can ignore it (``stignore.template`` carries the pattern) and never ships a
half-written file to another machine, and it names its process (``engine.temps``) so that the
next write in the same folder removes a temp that a killed write left, and no other.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Final

from session_roam.engine.core.temps import TEMP_PREFIX, sweep_dead_temps, temp_prefix

__all__ = ["DIR_MODE", "FILE_MODE", "TEMP_PREFIX", "atomic_write", "fsync_dir", "make_private_dirs"]

#: Mode of files roam creates: conversations are private.
FILE_MODE: Final = 0o600
#: Mode of folders roam creates.
DIR_MODE: Final = 0o700


def make_private_dirs(folder: Path) -> None:
    """``mkdir -p`` where every folder created is 0700.

    ``Path.mkdir(parents=True)`` gives the intermediate folders the default mode, which would
    leave part of a backup path readable by others.
    """
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for level in reversed(missing):
        level.mkdir(mode=DIR_MODE, exist_ok=True)


def fsync_dir(folder: Path) -> None:
    """Make renames and unlinks in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically and durably.

    ``mode`` defaults to the mode of the file being replaced (so roam never widens or narrows
    what the user chose), or 0600 for a new file. The parent folder must exist. Dead temps in
    that folder (a killed earlier write's) are removed first.
    """
    sweep_dead_temps(path.parent)
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = FILE_MODE
    fd, temp_name = tempfile.mkstemp(prefix=temp_prefix(), suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temp.chmod(mode)
        temp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_dir(path.parent)
