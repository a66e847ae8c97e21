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
    from session_roam.engine.setup.requirements import (
        ToolCheck,
        ToolChecks,
        check_requirements,
        require_syncthing,
    )
    from session_roam.engine.setup.shell import (
        SHORTCUTS,
        ShellChange,
        detect_shell,
        uninstall_shell,
    )
    from session_roam.engine.setup.shell import (
        install as install_shortcuts,
    )
    from session_roam.engine.setup.shell import (
        uninstall as uninstall_shortcuts,
    )
    from session_roam.engine.setup.shell_aliases import ShortcutFound
    from session_roam.engine.setup.uninstall import (
        UninstallRequest,
        UninstallResult,
        roam_folder_shared,
        run_uninstall,
    )
    from session_roam.engine.setup.watch_service import (
        ServiceChange,
        install_service,
        uninstall_service,
    )
    from session_roam.engine.setup.watch_setup import WatchSetup, unit_claude_dir

__all__ = [
    "SHORTCUTS",
    "ServiceChange",
    "SetupPairing",
    "SetupRequest",
    "SetupResult",
    "ShellChange",
    "ShortcutFound",
    "ToolCheck",
    "ToolChecks",
    "UninstallRequest",
    "UninstallResult",
    "WatchSetup",
    "check_requirements",
    "detect_shell",
    "install_service",
    "install_shortcuts",
    "pairing_state",
    "publish_self",
    "require_syncthing",
    "roam_folder_shared",
    "run_setup",
    "run_uninstall",
    "uninstall_service",
    "uninstall_shell",
    "uninstall_shortcuts",
    "unit_claude_dir",
]

__getattr__ = lazy_face(
    __name__,
    {
        "machine": ("SetupRequest", "SetupResult", "run_setup"),
        "requirements": ("ToolCheck", "ToolChecks", "check_requirements", "require_syncthing"),
        "pairing": ("SetupPairing=Pairing", "pairing_state", "publish_self"),
        "shell": (
            "SHORTCUTS",
            "ShellChange",
            "detect_shell",
            "install_shortcuts=install",
            "uninstall_shell",
            "uninstall_shortcuts=uninstall",
        ),
        "shell_aliases": ("ShortcutFound",),
        "uninstall": ("UninstallRequest", "UninstallResult", "roam_folder_shared", "run_uninstall"),
        "watch_service": ("ServiceChange", "install_service", "uninstall_service"),
        "watch_setup": ("WatchSetup", "unit_claude_dir"),
    },
)
