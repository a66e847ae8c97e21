"""One writer per session across the cluster: the lease claims, the protocol, its driver and its
transport over Syncthing, the two-machine rule, the release stamp and the prompt guard.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.lease.api import (
        LeaseView,
        acquire,
        engine_for,
        held_check,
        is_live,
        open_engine,
        release,
        status,
        steal,
    )
    from session_roam.engine.lease.granted import Lease
    from session_roam.engine.lease.transport import SyncthingTransport

__all__ = [
    "Lease",
    "LeaseView",
    "SyncthingTransport",
    "acquire",
    "engine_for",
    "held_check",
    "is_live",
    "open_engine",
    "release",
    "status",
    "steal",
]

__getattr__ = lazy_face(
    __name__,
    {
        "api": (
            "LeaseView",
            "acquire",
            "engine_for",
            "held_check",
            "is_live",
            "open_engine",
            "release",
            "status",
            "steal",
        ),
        "granted": ("Lease",),
        "transport": ("SyncthingTransport",),
    },
)
