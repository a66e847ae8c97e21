"""Who is knocking: devices that tried to connect and folders peers offered, not yet accepted.

Syncthing 1.18+ keeps both in its database and lists them at ``/rest/cluster/pending/devices``
(``{ID: {time, name, address}}``) and ``/rest/cluster/pending/folders``
(``{folder: {offeredBy: {ID: {time, label, ...}}}}``); 2.x kept both endpoints. Pairing from one
side only leaves the other side with exactly these records, so ``roam status`` and ``roam
verify`` read them to name the knocking machine and the one command that accepts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from session_roam.engine.syncthing.deviceid import parse_device_id
from session_roam.errors import InvalidInput, SyncthingError

if TYPE_CHECKING:
    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = [
    "PendingDevice",
    "PendingFolder",
    "accept_command",
    "pending_device",
    "pending_devices",
    "pending_folders",
]


@dataclass(frozen=True, slots=True)
class PendingDevice:
    """A device that tried to connect: the name it gave, the address it came from, since when."""

    device_id: str
    name: str
    address: str
    since: str

    @property
    def short(self) -> str:
        return self.device_id[:7]

    def describe(self) -> str:
        named = f" ({self.name!r})" if self.name else ""
        came = f" from {self.address}" if self.address else ""
        since = f" since {self.since}" if self.since else ""
        return f"{self.short}{named} asks to pair with this machine{came}{since}"


@dataclass(frozen=True, slots=True)
class PendingFolder:
    """A folder a peer shares with this machine that this machine does not share back."""

    folder_id: str
    label: str
    device_id: str
    since: str


def accept_command(device_id: str) -> str:
    return f"roam peers accept {device_id}"


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _canonical(device: str) -> str | None:
    try:
        return parse_device_id(device).canonical
    except InvalidInput:  # Syncthing's own records; a bad one is skipped, never fatal
        return None


def pending_devices(client: SyncthingClient) -> tuple[PendingDevice, ...]:
    """The devices knocking, oldest first; empty when this Syncthing cannot say."""
    try:
        data = client.pending("devices")
    except SyncthingError:
        return ()
    found = [
        PendingDevice(device, _text(entry, "name"), _text(entry, "address"), _text(entry, "time"))
        for raw, entry in data.items()
        if isinstance(entry, Mapping) and (device := _canonical(str(raw))) is not None
    ]
    return tuple(sorted(found, key=lambda d: (d.since, d.device_id)))


def pending_device(client: SyncthingClient, device_id: str) -> PendingDevice | None:
    return next((d for d in pending_devices(client) if d.device_id == device_id), None)


def pending_folders(client: SyncthingClient) -> tuple[PendingFolder, ...]:
    """Every (folder, offering device) pair not accepted yet, oldest first."""
    try:
        data = client.pending("folders")
    except SyncthingError:
        return ()
    found = []
    for folder, entry in data.items():
        offered = entry.get("offeredBy") if isinstance(entry, Mapping) else None
        if not isinstance(offered, Mapping):
            continue
        for raw, offer in offered.items():
            device = _canonical(str(raw))
            if device is not None and isinstance(offer, Mapping):
                found.append(
                    PendingFolder(str(folder), _text(offer, "label"), device, _text(offer, "time"))
                )
    return tuple(sorted(found, key=lambda f: (f.since, f.folder_id, f.device_id)))
