"""``roam status``'s live view: where each session is live, and each peer's last sign of life.

All of it from what this machine already has: the lease claims Syncthing carries (who holds a
session, whether claude runs under the lease, who released it last), the session file's
mtime here (when it was last written), this node's own Syncthing (when it last had a
connection to each peer) and the peers' ``roam watch`` heartbeats in the synced folder. No peer
is asked anything over the network.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from session_roam.engine.conflicts.heartbeat import read_beats
from session_roam.engine.sessions.listing import lease_facts
from session_roam.engine.sessions.summary_cache import open_cache
from session_roam.errors import RoamError

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = ["LivePeer", "LiveSession", "LiveView", "collect_live"]


def _iso(at: float | None) -> str | None:
    return None if at is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


@dataclass(frozen=True, slots=True)
class LiveSession:
    session_id: str
    lease_holder: str | None
    claude_running: bool
    last_writer: str | None
    last_written: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "lease_holder": self.lease_holder,
            "claude_running": self.claude_running,
            "last_writer": self.last_writer,
            "last_written": _iso(self.last_written),
        }


@dataclass(frozen=True, slots=True)
class LivePeer:
    device_id: str
    name: str
    connected: bool
    last_seen: float | None
    watch_running: bool | None  # None: no heartbeat from it ever (an older roam, or no watch)
    watch_beat: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "name": self.name,
            "connected": self.connected,
            "last_seen": _iso(self.last_seen),
            "watch_running": self.watch_running,
            "watch_heartbeat": _iso(self.watch_beat),
        }


@dataclass(frozen=True, slots=True)
class LiveView:
    sessions: tuple[LiveSession, ...]
    peers: tuple[LivePeer, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "sessions": [s.to_json() for s in self.sessions],
            "peers": [p.to_json() for p in self.peers],
        }


def _written(session_ids: set[str]) -> dict[str, float]:
    """When each session's file last changed here, found through the summary cache's paths."""
    found: dict[str, float] = {}
    if not session_ids:
        return found
    try:
        with open_cache() as cache:
            for session in session_ids:
                for path in cache.paths_of(session):
                    try:
                        found[session] = max(found.get(session, 0.0), os.stat(path).st_mtime)
                    except OSError:
                        continue
    except (sqlite3.Error, OSError):
        return found
    return found


def _live_sessions(claude_dir: Path | None) -> tuple[LiveSession, ...]:
    facts = {s: f for s, f in lease_facts(claude_dir).items() if f.holder}
    written = _written(set(facts))
    return tuple(
        LiveSession(s, f.holder, f.running, f.last_writer, written.get(s))
        for s, f in sorted(facts.items())
    )


def _peers(client: SyncthingClient, projects: Path, me: str) -> tuple[LivePeer, ...]:
    try:
        devices = [d for d in client.devices() if d.device_id != me]
        connected = {d for d, c in client.connections().items() if c.connected}
        seen = client.device_last_seen()
    except RoamError:
        return ()
    beats = read_beats(projects)
    now = time.time()
    peers = []
    for device in devices:
        at = seen.get(device.device_id)
        last = (
            now
            if device.device_id in connected
            else (at.timestamp() if at is not None and at.year > 1970 else None)
        )
        beat = beats.get(device.device_id)
        peers.append(
            LivePeer(
                device.device_id,
                device.name,
                device.device_id in connected,
                last,
                None if beat is None else beat.running(now),
                None if beat is None else beat.at,
            )
        )
    return tuple(peers)


def collect_live(
    client: SyncthingClient, projects: Path, me: str, claude_dir: Path | None
) -> LiveView:
    """The live view (module doc); never raises for what it cannot find out."""
    return LiveView(_live_sessions(claude_dir), _peers(client, projects, me))
