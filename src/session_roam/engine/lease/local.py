"""What this machine keeps for the lease outside the synced folder: the reader's memory, the lock.

A fresh ``roam`` must judge a claim's expiry on its own monotonic clock, so when this reader saw
each claim change survives the process in ``ObservationStore``; ``core.boot.boot_id`` tells
readings of this boot from older ones, since a monotonic clock does not survive a reboot.
``LocalLocks`` is one flock per session: a roam holding a session keeps its lock, so a claim
left behind by a dead roam on this machine is known dead at once. ``LeaseEngine``
(``lease.engine``) uses both.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from typing import TYPE_CHECKING, Any

from session_roam.engine.core.atomic import atomic_write
from session_roam.engine.lease.model import Observation

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["LocalLocks", "ObservationStore"]


class ObservationStore:
    """When this machine last saw each claim change, kept in roam's XDG state (never synced).

    Losing this file only makes claims look fresh again, which delays an expiry by one TTL; it
    never shortens one. Concurrent ``roam`` processes may overwrite each other's entries with
    the same effect.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._mutex = threading.Lock()  # the renew thread and the caller both judge claims
        self._data: dict[str, dict[str, Any]] = {}
        if path is not None:
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(path.read_text())
                if isinstance(loaded, dict):
                    self._data = {k: v for k, v in loaded.items() if isinstance(v, dict)}
        # What the file holds as far as we know: a read that saw nothing change writes nothing
        # (an fsync'd write per read cost the lease's hot path a few ms each).
        self._saved = self._encode()

    def _encode(self) -> bytes:
        with self._mutex:
            return json.dumps(self._data, sort_keys=True).encode()

    def get(self, session: str, device: str) -> Observation | None:
        entry = self._data.get(f"{session}/{device}")
        if entry is None:
            return None
        try:
            return Observation(str(entry["digest"]), float(entry["seen_at"]), str(entry["boot"]))
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, session: str, device: str, observation: Observation) -> None:
        with self._mutex:
            self._data[f"{session}/{device}"] = {
                "digest": observation.digest,
                "seen_at": observation.seen_at,
                "boot": observation.boot,
            }

    def forget_except(self, session: str, devices: Sequence[str]) -> None:
        with self._mutex:
            for key in [k for k in self._data if k.startswith(f"{session}/")]:
                if key.split("/", 1)[1] not in devices:
                    del self._data[key]

    def save(self) -> None:
        if self._path is None:
            return
        data = self._encode()
        if data == self._saved:
            return
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write(self._path, data, mode=0o600)
        self._saved = data


class LocalLocks:
    """One ``flock`` per session on this machine: two ``roam`` processes here share one device id,
    so without it they would be two writers of one claim file.

    The lock also tells whether our own claim has a living owner: a ``roam`` killed with -9 lets
    go of its flock, so its claim is dead here at once, without waiting for the TTL.
    """

    def __init__(self, folder: Path | None) -> None:
        self._folder = folder

    def _path(self, session: str) -> Path | None:
        if self._folder is None:
            return None
        self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self._folder / f"{session}.lock"

    def try_lock(self, session: str) -> int | None:
        """An fd holding the lock, or None when another process here has it."""
        path = self._path(session)
        if path is None:
            return -1
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        return fd

    def holder_pid(self, session: str) -> int:
        path = self._path(session)
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text().strip()) if path is not None else 0
        return 0

    @staticmethod
    def unlock(fd: int) -> None:
        if fd >= 0:
            os.close(fd)

    def owner_alive(self, session: str) -> bool:
        """Does a process on this machine hold the session's lock right now?"""
        fd = self.try_lock(session)
        if fd is None:
            return True
        self.unlock(fd)
        return fd < 0  # no lock folder (tests): assume the owner lives
