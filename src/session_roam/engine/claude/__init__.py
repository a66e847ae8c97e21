"""Claude Code itself: launching the real ``claude``, roam's hooks in its settings.json, what a
hook run does, the lease keeper for a plain ``claude``, and making its clean-up harmless.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.claude.cleanup import deletion_policy
    from session_roam.engine.claude.hookrun import HookRunner, parse_payload, read_stdin_payload
    from session_roam.engine.claude.hooks import (
        HOOK_EVENTS,
        HooksChange,
        install_hooks,
        roam_argv,
        settings_path,
        status_hooks,
        uninstall_hooks,
    )
    from session_roam.engine.claude.keeper import (
        ProcessKeeper,
        claude_pid_of_hook,
        keep,
        report_to_stdout,
    )
    from session_roam.engine.claude.launch import run_child

__all__ = [
    "HOOK_EVENTS",
    "HookRunner",
    "HooksChange",
    "ProcessKeeper",
    "claude_pid_of_hook",
    "deletion_policy",
    "install_hooks",
    "keep",
    "parse_payload",
    "read_stdin_payload",
    "report_to_stdout",
    "roam_argv",
    "run_child",
    "settings_path",
    "status_hooks",
    "uninstall_hooks",
]

__getattr__ = lazy_face(
    __name__,
    {
        "cleanup": ("deletion_policy",),
        "hookrun": ("HookRunner", "parse_payload", "read_stdin_payload"),
        "hooks": (
            "HOOK_EVENTS",
            "HooksChange",
            "install_hooks",
            "roam_argv",
            "settings_path",
            "status_hooks",
            "uninstall_hooks",
        ),
        "keeper": ("ProcessKeeper", "claude_pid_of_hook", "keep", "report_to_stdout"),
        "launch": ("run_child",),
    },
)
