"""``roam watch``'s heartbeat: one small synced file per node saying its watch runs.

``.roam/nodes/<device id>.watch`` holds the time the node's ``roam watch`` last wrote it; the
watch rewrites it every ``HEARTBEAT_S`` (a few hundred bytes every 15 minutes per node: no
Syncthing traffic worth the name), and removes it when it stops cleanly. A peer reads it from
its own copy of the folder, never over the network: a stamp younger than ``STALE_AFTER_S``
means that node's watch was running then. Node files (``<id>.json``) are another module's.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.core.safefs import LinkRefused, read_bytes_nofollow, refuse_links

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "HEARTBEAT_S",
    "STALE_AFTER_S",
    "WatchBeat",
    "beat",
    "read_beats",
    "stop_beating",
]

HEARTBEAT_S: Final = 15 * 60.0
#: Two missed beats and a margin for Syncthing's delay: past this the watch counts as stopped.
STALE_AFTER_S: Final = 2 * HEARTBEAT_S + 120.0
_SUFFIX: Final = ".watch"


def _path(projects: Path, device_id: str) -> Path:
    return projects / ".roam" / "nodes" / f"{device_id}{_SUFFIX}"


@dataclass(frozen=True, slots=True)
class WatchBeat:
    device_id: str
    at: float

    def running(self, now: float | None = None) -> bool:
        return ((time.time() if now is None else now) - self.at) <= STALE_AFTER_S


def beat(projects: Path, device_id: str, *, now: float | None = None) -> None:
    """Write this node's heartbeat (atomically, never through a planted link)."""
    path = _path(projects, device_id)
    refuse_links(projects, path)
    make_private_dirs(path.parent)
    body = {"device_id": device_id, "watch": time.time() if now is None else now}
    atomic_write(path, (json.dumps(body, sort_keys=True) + "\n").encode())


def stop_beating(projects: Path, device_id: str) -> None:
    """Remove this node's heartbeat: its watch stopped on purpose."""
    path = _path(projects, device_id)
    with contextlib.suppress(OSError, LinkRefused):
        refuse_links(projects, path)
        os.unlink(path)


def read_beats(projects: Path) -> dict[str, WatchBeat]:
    """Every node's heartbeat found here, by device id; unreadable or foreign ones left out."""
    folder = projects / ".roam" / "nodes"
    found: dict[str, WatchBeat] = {}
    try:
        names = [n for n in os.listdir(folder) if n.endswith(_SUFFIX)]
    except OSError:
        return found
    for name in names:
        try:
            data = json.loads(read_bytes_nofollow(folder / name, projects))
        except (OSError, ValueError, LinkRefused):
            continue
        at = data.get("watch") if isinstance(data, dict) else None
        if isinstance(at, int | float) and not isinstance(at, bool):
            device = name[: -len(_SUFFIX)]
            found[device] = WatchBeat(device, float(at))
    return found
