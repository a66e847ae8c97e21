"""``roam setup``: this machine's Syncthing carrying the projects folder, an always-on node, the
shell shortcuts and the ``roam watch`` login service.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.setup.machine import SetupRequest, SetupResult, run_setup
    from session_roam.engine.setup.pairing import Pairing as SetupPairing
    from session_roam.engine.setup.pairing import pairing_state, publish_self
    from session_roam.engine.setup.shell import (
        SHORTCUTS,
        ShellChange,
        detect_shell,
    )
    from session_roam.engine.setup.shell import (
        install as install_shortcuts,
    )
    from session_roam.engine.setup.shell import (
        uninstall as uninstall_shortcuts,
    )
    from session_roam.engine.setup.watch_service import (
        ServiceChange,
        install_service,
        uninstall_service,
    )

__all__ = [
    "SHORTCUTS",
    "ServiceChange",
    "SetupPairing",
    "SetupRequest",
    "SetupResult",
    "ShellChange",
    "detect_shell",
    "install_service",
    "install_shortcuts",
    "pairing_state",
    "publish_self",
    "run_setup",
    "uninstall_service",
    "uninstall_shortcuts",
]

__getattr__ = lazy_face(
    __name__,
    {
        "machine": ("SetupRequest", "SetupResult", "run_setup"),
        "pairing": ("SetupPairing=Pairing", "pairing_state", "publish_self"),
        "shell": (
            "SHORTCUTS",
            "ShellChange",
            "detect_shell",
            "install_shortcuts=install",
            "uninstall_shortcuts=uninstall",
        ),
        "watch_service": ("ServiceChange", "install_service", "uninstall_service"),
    },
)
