"""One name per machine, the same in every command, and unique in the cluster.

A machine is named by, in this order: the name it gives itself in its node file
(``.roam/nodes/<ID>.json``, published by ``roam setup`` and every ``roam verify`` there: its
Syncthing device name, the hostname by default), else the name Syncthing here knows it by (what
``roam peers add --name`` set, or the name it gave when it knocked), else the first seven
characters of its device ID. roam's own placeholder ``peer-XXXXXXX`` counts as no name. Two
machines that end up with the same name (two laptops called ``laptop``) are told apart by a
short device-ID suffix: ``laptop-PUORCOU`` and ``laptop-ZX3QK2A``.

``machine_names`` is pure; ``cluster_names`` reads what this machine knows (Syncthing's device
list and the node files) and is what commands call.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from session_roam.engine.syncthing.nodeinfo import read_nodes
from session_roam.errors import SyncthingError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = [
    "cluster_names",
    "display_name",
    "machine_names",
    "placeholder_name",
    "published_names",
]

_SHORT = 7
_LONGEST = 64


def placeholder_name(device_id: str) -> str:
    """What roam names a peer in Syncthing when it was given no name: not a real name."""
    return f"peer-{device_id[:_SHORT]}"


def _own(device_id: str, *candidates: str | None) -> str:
    for name in candidates:
        # a node file is synced data: one line, a bounded length. Control and bidi characters
        # stay in the name and are written out visibly by the output boundary (cli.output),
        # so a hostile name is seen for what it is rather than quietly cleaned
        text = " ".join((name or "").split())[:_LONGEST]
        if text and text != placeholder_name(device_id):
            return text
    return device_id[:_SHORT]


def machine_names(
    configured: Mapping[str, str], published: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The display name of every device in ``configured`` (device ID -> Syncthing's name for it)
    or ``published`` (device ID -> the name in its node file), unique among them."""
    published = published or {}
    devices = sorted({*configured, *published})
    chosen = {d: _own(d, published.get(d), configured.get(d)) for d in devices}
    taken = Counter(name.casefold() for name in chosen.values())
    return {
        d: f"{name}-{d[:_SHORT]}" if taken[name.casefold()] > 1 and name != d[:_SHORT] else name
        for d, name in chosen.items()
    }


def display_name(names: Mapping[str, str], device_id: str) -> str:
    """``names[device_id]``, or the short device ID for a device nobody here has heard of."""
    return names.get(device_id) or device_id[:_SHORT]


def published_names(projects_dir: Path | None) -> dict[str, str]:
    """The name each machine gives itself in its node file under ``projects_dir``."""
    if projects_dir is None:
        return {}
    return {
        device: node.info.name
        for device, node in read_nodes(projects_dir).items()
        if node.info is not None and node.info.name
    }


def cluster_names(client: SyncthingClient | None, projects_dir: Path | None) -> dict[str, str]:
    """Every machine this one knows (itself included), by device ID, from Syncthing's device
    list and the node files under ``projects_dir``; what cannot be read is left out."""
    configured: dict[str, str] = {}
    if client is not None:
        try:
            configured = {d.device_id: d.name for d in client.devices()}
        except SyncthingError:
            configured = {}
    return machine_names(configured, published_names(projects_dir))
