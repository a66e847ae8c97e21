"""Names of roam's temporary files, and the sweep that removes those a dead process left.

A write killed between "temp created" and "renamed over the target" (kill -9, power loss) leaves
its temp behind. Syncthing ignores ``.roam-tmp-*`` (``stignore.template``), so it never travels,
but it would sit in the projects folder for ever. The next writer removes it, and must never
remove the temp of a write still in progress (two roam processes can write in one folder: a
merge and a lease claim, ``roam watch`` and ``roam cr``). So the name says who made it::

    .roam-tmp-<host>-<pid>-<start>-<random>.tmp

``host`` is a short hash of this machine's name (a folder on a shared disk may be written by
another machine, whose pids mean nothing here), ``start`` the process's start time in clock
ticks from ``/proc`` (so a recycled pid is not mistaken for the writer; ``0`` where there is no
``/proc``). A temp is dead when it is this host's and its process is gone or was restarted;
a temp of another host, or of an older roam that named temps without an owner, counts as dead
only after ``STALE_AFTER_S``, far longer than any write takes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import time
from functools import cache
from pathlib import Path
from typing import Final

from session_roam.engine.core.procs import pid_alive

__all__ = ["STALE_AFTER_S", "TEMP_PREFIX", "is_dead_temp", "sweep_dead_temps", "temp_prefix"]

#: Prefix of every temp file roam creates next to a file it replaces (ignored by Syncthing).
TEMP_PREFIX: Final = ".roam-tmp-"
#: A temp whose owner cannot be asked is dead after a day: a write of 1 GB takes seconds.
STALE_AFTER_S: Final = 24 * 3600.0

_OWNED_RE: Final = re.compile(
    re.escape(TEMP_PREFIX) + r"(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]{1,10})-(?P<start>[0-9]{1,20})-"
)


@cache
def _host_tag() -> str:
    return hashlib.sha256(os.uname().nodename.encode()).hexdigest()[:8]


def _start_ticks(pid: int) -> int:
    """The start time of ``pid`` in clock ticks since boot (Linux), or 0 where unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        return int(text[text.rindex(")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def temp_prefix() -> str:
    """The prefix this process gives its temps (``tempfile.mkstemp`` adds the random part)."""
    pid = os.getpid()
    return f"{TEMP_PREFIX}{_host_tag()}-{pid}-{_start_ticks(pid)}-"


def is_dead_temp(name: str, mtime: float, *, now: float | None = None) -> bool:
    """Whether the temp called ``name`` (last modified at ``mtime``) belongs to no live write."""
    if not name.startswith(TEMP_PREFIX):
        return False
    owner = _OWNED_RE.match(name)
    if owner is not None and owner["host"] == _host_tag():
        pid, start = int(owner["pid"]), int(owner["start"])
        if not pid_alive(pid):
            return True
        current = _start_ticks(pid)
        return start != 0 and current != 0 and current != start
    moment = time.time() if now is None else now
    return moment - mtime > STALE_AFTER_S


def sweep_dead_temps(folder: Path, *, recursive: bool = False) -> tuple[Path, ...]:
    """Remove the dead temps (files or folders) in ``folder``; return what was removed.

    Symlinks are never followed, nor removed: roam never creates one. Errors are ignored (a
    sweep is housekeeping; the next one tries again), and a folder that is gone is no error.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return ()
    for entry in entries:
        try:
            if entry.name.startswith(TEMP_PREFIX):
                info = entry.stat(follow_symlinks=False)
                if not stat.S_ISLNK(info.st_mode) and is_dead_temp(entry.name, info.st_mtime):
                    _remove(Path(entry.path), is_dir=stat.S_ISDIR(info.st_mode))
                    removed.append(Path(entry.path))
            elif recursive and entry.is_dir(follow_symlinks=False):
                removed.extend(sweep_dead_temps(Path(entry.path), recursive=True))
        except OSError:
            continue
    return tuple(removed)


def _remove(path: Path, *, is_dir: bool) -> None:
    if is_dir:
        shutil.rmtree(path)  # never follows a symlink inside
    else:
        path.unlink()
