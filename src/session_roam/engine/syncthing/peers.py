"""Adding, removing and listing the machines this one syncs sessions with.

A peer is a Syncthing device that shares roam's folder. Pairing is symmetric in Syncthing: the
other machine must add this one too (``roam setup --device-id`` there), which is why every
answer carries this machine's own ID.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.syncthing.deviceid import parse_device_id
from session_roam.engine.syncthing.local import find_roam_folder
from session_roam.engine.syncthing.names import cluster_names, display_name, placeholder_name
from session_roam.engine.syncthing.pending import pending_device
from session_roam.errors import InvalidInput, SetupError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient
    from session_roam.engine.syncthing.local import LocalSyncthing

__all__ = [
    "PeerChange",
    "PeerInfo",
    "accept_peer",
    "add_peer",
    "ensure_peer",
    "list_peers",
    "remove_peer",
    "share_folder_with",
    "validate_address",
]

_ADDRESS_RE: Final = re.compile(r"^(tcp[46]?|quic[46]?|relay)://[^\s/]+:\d{1,5}(/.*)?$|^dynamic$")


@dataclass(frozen=True, slots=True)
class PeerInfo:
    device_id: str
    name: str
    addresses: tuple[str, ...]
    connected: bool
    paused: bool
    shares_folder: bool


@dataclass(frozen=True, slots=True)
class PeerChange:
    """``action`` is ``added``, ``updated``, ``unchanged`` or ``removed``."""

    device_id: str
    name: str
    action: str
    my_id: str


def validate_address(address: str) -> str:
    """A Syncthing device address such as ``tcp://host:22000``, or ``dynamic``."""
    if not _ADDRESS_RE.match(address.strip()):
        raise InvalidInput(
            f"{address!r} is not a Syncthing address.",
            hint="Use the form tcp://HOST:PORT (for example tcp://192.168.1.20:22000) or dynamic.",
        )
    return address.strip()


def ensure_peer(
    client: SyncthingClient,
    my_id: str,
    device: str,
    *,
    name: str | None = None,
    address: str | None = None,
) -> PeerChange:
    """Add the device, or bring its name/address in line; never touches what was not asked."""
    device_id = parse_device_id(device).canonical
    if device_id == my_id:
        raise InvalidInput(
            f"{device_id[:7]} is this machine's own device ID.",
            hint="Pass the ID printed by `roam setup` on the OTHER machine.",
        )
    addresses = [validate_address(address)] if address else None
    existing = {d.device_id: d for d in client.devices()}
    current = existing.get(device_id)
    if current is None:
        knocked = pending_device(client, device_id)  # the name it gave when it knocked
        shown = name or (knocked.name if knocked else "") or placeholder_name(device_id)
        client.add_device(device_id, name=shown, addresses=addresses or ["dynamic"])
        return PeerChange(device_id, shown, "added", my_id)
    changes: dict[str, Any] = {}
    if name and current.name != name:
        changes["name"] = name
    if addresses and list(current.addresses) != addresses:
        changes["addresses"] = addresses
    if changes:
        client.patch_device(device_id, changes)
    return PeerChange(device_id, name or current.name, "updated" if changes else "unchanged", my_id)


def share_folder_with(client: SyncthingClient, folder_id: str, device_ids: list[str]) -> bool:
    """Add devices to a folder's share list; True when something changed. Re-reads to check,
    because Syncthing silently drops devices it does not know."""
    folder = client.folder(folder_id)
    missing = [d for d in device_ids if d not in folder.device_ids]
    if not missing:
        return False
    entries = [dict(e) for e in folder.raw.get("devices") or []]
    entries += [{"deviceID": d} for d in missing]
    client.patch_folder(folder_id, {"devices": entries})
    dropped = [d for d in missing if d not in client.folder(folder_id).device_ids]
    if dropped:
        raise SetupError(f"Syncthing did not share folder {folder_id!r} with {dropped[0][:7]}.")
    return True


def add_peer(
    local: LocalSyncthing,
    projects_dir: Path,
    device: str,
    *,
    name: str | None = None,
    address: str | None = None,
    share: Callable[[SyncthingClient, str, str], bool] | None = None,
) -> PeerChange:
    """Pair with a machine and share roam's folder with it.

    ``share(client, folder_id, device_id)`` says how (an always-on node gets the folder
    encrypted) and returns whether the config changed; the default shares it in the clear.
    """
    client = local.client
    my_id = client.my_id()
    change = ensure_peer(client, my_id, device, name=name, address=address)
    folder = find_roam_folder(client, projects_dir)
    if folder is None:
        raise SetupError(
            f"Syncthing does not share {projects_dir} yet.",
            hint="Run `roam setup` first; it creates the folder and pairs peers in one go.",
        )
    if share is None:
        changed = share_folder_with(client, folder.id, [change.device_id])
    else:
        changed = share(client, folder.id, change.device_id)
    if changed and change.action == "unchanged":
        change = PeerChange(change.device_id, change.name, "updated", my_id)
    return change


def accept_peer(
    local: LocalSyncthing,
    projects_dir: Path,
    device: str,
    *,
    name: str | None = None,
    address: str | None = None,
) -> PeerChange:
    """Accept a machine that knocked (Syncthing lists it as pending): pair with it under the
    name it gave and share roam's folder with it, exactly as ``add_peer`` does."""
    device_id = parse_device_id(device).canonical
    client = local.client
    known = any(d.device_id == device_id for d in client.devices())
    knock = pending_device(client, device_id)
    if not known and knock is None:
        raise InvalidInput(
            f"{device_id[:7]} has not asked to pair with this machine.",
            hint="`roam status` lists the machines asking; to pair with one that has not "
            f"asked yet: roam peers add {device_id}",
        )
    change = add_peer(local, projects_dir, device_id, name=name, address=address)
    if change.action == "added" and address is None and knock is not None and knock.address:
        # Syncthing dials from its listen port, so where it came from is worth a try at once
        # (it waits up to a minute before dialling us again); discovery stays as the fallback.
        with contextlib.suppress(InvalidInput):
            came_from = validate_address(f"tcp://{knock.address}")
            client.patch_device(device_id, {"addresses": [came_from, "dynamic"]})
    return change


def remove_peer(local: LocalSyncthing, device: str) -> PeerChange:
    """Forget a machine (Syncthing also drops it from every folder)."""
    client = local.client
    device_id = parse_device_id(device).canonical
    known = {d.device_id: d for d in client.devices()}
    my_id = client.my_id()
    if device_id not in known or device_id == my_id:
        raise InvalidInput(
            f"{device_id[:7]} is not a peer of this machine.",
            hint="`roam peers list` shows the peers there are.",
        )
    client.remove_device(device_id)
    return PeerChange(device_id, known[device_id].name, "removed", my_id)


def list_peers(local: LocalSyncthing, projects_dir: Path) -> list[PeerInfo]:
    client = local.client
    my_id = client.my_id()
    connections = client.connections()
    folder = find_roam_folder(client, projects_dir)
    shared = set(folder.device_ids) if folder else set()
    names = cluster_names(client, projects_dir)  # one name per machine, as every command says
    return [
        PeerInfo(
            device_id=d.device_id,
            name=display_name(names, d.device_id),
            addresses=d.addresses,
            connected=bool(connections.get(d.device_id) and connections[d.device_id].connected),
            paused=d.paused,
            shares_folder=d.device_id in shared,
        )
        for d in client.devices()
        if d.device_id != my_id
    ]
