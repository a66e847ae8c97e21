"""Syncthing, the transport: its REST client and events, its config.xml, starting and keeping a
node running, this machine's node, peers, untrusted nodes, and clusters of real nodes for tests.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.syncthing.deviceid import parse_device_id
    from session_roam.engine.syncthing.local import connect_local, find_roam_folder
    from session_roam.engine.syncthing.node import find_syncthing_binary
    from session_roam.engine.syncthing.nodeinfo import claude_version, publish
    from session_roam.engine.syncthing.peers import (
        PeerChange,
        add_peer,
        list_peers,
        remove_peer,
        validate_address,
    )
    from session_roam.engine.syncthing.untrusted import add_untrusted_peer, read_password_file

__all__ = [
    "PeerChange",
    "add_peer",
    "add_untrusted_peer",
    "claude_version",
    "connect_local",
    "find_roam_folder",
    "find_syncthing_binary",
    "list_peers",
    "parse_device_id",
    "publish",
    "read_password_file",
    "remove_peer",
    "validate_address",
]

__getattr__ = lazy_face(
    __name__,
    {
        "deviceid": ("parse_device_id",),
        "local": ("connect_local", "find_roam_folder"),
        "node": ("find_syncthing_binary",),
        "nodeinfo": ("claude_version", "publish"),
        "peers": ("PeerChange", "add_peer", "list_peers", "remove_peer", "validate_address"),
        "untrusted": ("add_untrusted_peer", "read_password_file"),
    },
)
