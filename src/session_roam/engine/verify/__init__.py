"""``roam verify`` and ``roam status``: gather one snapshot of the facts, check it, and say what
is wrong and what would be better.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.verify.connect import VerifyRequest
    from session_roam.engine.verify.liveview import LiveView, collect_live
    from session_roam.engine.verify.model import VerifyReport
    from session_roam.engine.verify.run import verify
    from session_roam.engine.verify.status import StatusReport, collect_status

__all__ = [
    "LiveView",
    "StatusReport",
    "VerifyReport",
    "VerifyRequest",
    "collect_live",
    "collect_status",
    "verify",
]

__getattr__ = lazy_face(
    __name__,
    {
        "connect": ("VerifyRequest",),
        "liveview": ("LiveView", "collect_live"),
        "model": ("VerifyReport",),
        "run": ("verify",),
        "status": ("StatusReport", "collect_status"),
    },
)
