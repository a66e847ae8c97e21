"""Syncthing, the transport: its REST client and events, its config.xml, starting and keeping a
node running, this machine's node, peers, untrusted nodes, and clusters of real nodes for tests.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.syncthing.deviceid import parse_device_id
    from session_roam.engine.syncthing.kept import forget_kept, keep_local_connected
    from session_roam.engine.syncthing.local import connect_local, find_roam_folder
    from session_roam.engine.syncthing.names import cluster_names, display_name, machine_names
    from session_roam.engine.syncthing.node import find_syncthing_binary
    from session_roam.engine.syncthing.nodeinfo import claude_version, publish
    from session_roam.engine.syncthing.peers import (
        PeerChange,
        accept_peer,
        add_peer,
        list_peers,
        remove_peer,
        validate_address,
    )
    from session_roam.engine.syncthing.pending import (
        PendingDevice,
        PendingFolder,
        accept_command,
        pending_devices,
        pending_folders,
    )
    from session_roam.engine.syncthing.untrusted import add_untrusted_peer, read_password_file

__all__ = [
    "PeerChange",
    "PendingDevice",
    "PendingFolder",
    "accept_command",
    "accept_peer",
    "add_peer",
    "add_untrusted_peer",
    "claude_version",
    "cluster_names",
    "connect_local",
    "display_name",
    "find_roam_folder",
    "find_syncthing_binary",
    "forget_kept",
    "keep_local_connected",
    "list_peers",
    "machine_names",
    "parse_device_id",
    "pending_devices",
    "pending_folders",
    "publish",
    "read_password_file",
    "remove_peer",
    "validate_address",
]

__getattr__ = lazy_face(
    __name__,
    {
        "deviceid": ("parse_device_id",),
        "kept": ("forget_kept", "keep_local_connected"),
        "local": ("connect_local", "find_roam_folder"),
        "names": ("cluster_names", "display_name", "machine_names"),
        "node": ("find_syncthing_binary",),
        "nodeinfo": ("claude_version", "publish"),
        "peers": (
            "PeerChange",
            "accept_peer",
            "add_peer",
            "list_peers",
            "remove_peer",
            "validate_address",
        ),
        "pending": (
            "PendingDevice",
            "PendingFolder",
            "accept_command",
            "pending_devices",
            "pending_folders",
        ),
        "untrusted": ("add_untrusted_peer", "read_password_file"),
    },
)
