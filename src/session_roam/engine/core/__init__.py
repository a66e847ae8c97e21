"""The ground floor: atomic writes, temporary files, processes, Claude Code's paths, roam's own
folders, reading sessions from disk, and the backup store that keeps every byte roam replaces.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.core import xdg
    from session_roam.engine.core.backup import backups_root
    from session_roam.engine.core.backup_bound import BackupUsage, backups_report
    from session_roam.engine.core.inputs import check_session_version
    from session_roam.engine.core.paths import (
        claude_config_dir,
        project_dir_for,
        projects_dir,
        validate_session_id,
    )
    from session_roam.engine.core.safefs import LinkRefused, find_links
    from session_roam.engine.core.store import SessionFiles

__all__ = [
    "BackupUsage",
    "LinkRefused",
    "SessionFiles",
    "backups_report",
    "backups_root",
    "check_session_version",
    "claude_config_dir",
    "find_links",
    "project_dir_for",
    "projects_dir",
    "validate_session_id",
    "xdg",
]

__getattr__ = lazy_face(
    __name__,
    {
        "backup": ("backups_root",),
        "backup_bound": ("BackupUsage", "backups_report"),
        "inputs": ("check_session_version",),
        "paths": ("claude_config_dir", "project_dir_for", "projects_dir", "validate_session_id"),
        "safefs": ("LinkRefused", "find_links"),
        "store": ("SessionFiles",),
    },
)
