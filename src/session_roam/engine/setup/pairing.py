"""What pairing looks like from this machine: whom it shares the folder with, who is knocking,
and the one line to run on another machine to pair with it (``roam setup``, ``roam pair``).

The line names this machine's real listen address (``engine.syncthing.address``), not a
placeholder, so that it can be pasted as it is. ``publish_self`` writes this machine's node file
at once, so that a peer's ``roam verify`` knows its versions and name from the first sync on.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from session_roam.engine.claude.cleanup import deletion_policy
from session_roam.engine.core.safefs import LinkRefused
from session_roam.engine.syncthing.address import listen_addresses
from session_roam.engine.syncthing.local import find_roam_folder
from session_roam.engine.syncthing.names import cluster_names, display_name
from session_roam.engine.syncthing.nodeinfo import claude_version, publish
from session_roam.engine.syncthing.pending import (
    PendingDevice,
    PendingFolder,
    pending_devices,
    pending_folders,
)

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = ["PairedPeer", "Pairing", "pairing_state", "publish_self"]


@dataclass(frozen=True, slots=True)
class PairedPeer:
    device_id: str
    name: str
    connected: bool


@dataclass(frozen=True, slots=True)
class Pairing:
    """``next_step`` is the line to run on another machine to pair it with this one."""

    device_id: str
    name: str
    listen_addresses: tuple[str, ...]
    next_step: str
    paired: tuple[PairedPeer, ...]
    pending: tuple[PendingDevice, ...]
    offered: tuple[PendingFolder, ...]

    @property
    def unconnected(self) -> tuple[PairedPeer, ...]:
        return tuple(p for p in self.paired if not p.connected)


def pair_line(device_id: str, addresses: tuple[str, ...]) -> str:
    tcp = next((a for a in addresses if a.startswith("tcp")), None)
    return f"roam setup --device-id {device_id}" + (f" --address {tcp}" if tcp else "")


def pairing_state(client: SyncthingClient, projects_dir: Path) -> Pairing:
    """This machine's pairing, as its Syncthing and the node files say it now."""
    my_id = client.my_id()
    names = cluster_names(client, projects_dir)
    folder = find_roam_folder(client, projects_dir)
    connections = client.connections()
    shared = [d for d in (folder.device_ids if folder else ()) if d != my_id]
    paired = tuple(
        PairedPeer(
            d,
            display_name(names, d),
            bool(connections.get(d) and connections[d].connected),
        )
        for d in shared
    )
    addresses = listen_addresses(client)
    return Pairing(
        device_id=my_id,
        name=display_name(names, my_id),
        listen_addresses=addresses,
        next_step=pair_line(my_id, addresses),
        paired=paired,
        pending=pending_devices(client),
        offered=tuple(
            f
            for f in pending_folders(client)
            if folder is None or f.folder_id != folder.id or f.device_id not in shared
        ),
    )


def publish_self(client: SyncthingClient, projects_dir: Path, version: str) -> None:
    """Write this node's file now (``engine.nodeinfo``), as every ``roam verify`` does, so that
    peers see its name, versions and the devices it shares the folder with at once (after
    setup, and after a peer is added, accepted or removed). Nothing without roam's folder."""
    folder = find_roam_folder(client, projects_dir)
    if folder is None:
        return
    my_id = client.my_id()
    own = {d.device_id: d.name for d in client.devices()}.get(my_id, "")
    with contextlib.suppress(LinkRefused):  # a planted link: verify's synced-data check names it
        publish(
            projects_dir,
            device_id=my_id,
            name=own,
            syncthing_version=version,
            claude=claude_version(),
            folder_devices=folder.device_ids,
            policy=deletion_policy(folder.raw, projects_dir.parent),
        )
