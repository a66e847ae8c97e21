"""The settings every roam-managed Syncthing folder gets, in one place for setup and clusters.

- ``fsWatcherDelayS`` 1: an append reaches a peer ~1.006 s later; the default 10 means up to 10 s,
  long enough for a second machine to start writing and conflict.
- ``maxConflicts`` -1: a conflict copy is somebody's turn; 0 silently deletes it, 10 prunes.
- ``ignorePerms``: session files are 0600 on one machine and need not be on another.
- ``ignoreDelete``: a deletion on one machine (Claude Code's 30-day clean-up, ``rm -rf``, a wiped
  disk) never takes a session away from another; see docs/design/deletions.md. The node that
  deleted gets its sessions back when a holder re-announces them (``engine.reassert``), and a
  removal the user asks for travels as a tombstone instead (``roam rm``).
- ``pullerDelayS`` 0 where the version has it (2.x): see ``stversion.OPTIONAL_FOLDER_SETTINGS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.atomic import make_private_dirs
from session_roam.engine.syncthing.version import OPTIONAL_FOLDER_SETTINGS, optional_folder_drift

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

__all__ = [
    "DEFAULT_FOLDER_ID",
    "FOLDER_SETTINGS",
    "LEGACY_FOLDER_IDS",
    "folder_body",
    "folder_drift",
    "protect_folder_marker",
]

DEFAULT_FOLDER_ID: Final = "claude-projects"
#: The bash project this one succeeds shared the same path as ``claude-sessions``.
LEGACY_FOLDER_IDS: Final = ("claude-sessions",)

FOLDER_SETTINGS: Final[Mapping[str, Any]] = {
    "type": "sendreceive",
    "fsWatcherEnabled": True,
    "fsWatcherDelayS": 1,
    "maxConflicts": -1,
    "ignorePerms": True,
    "ignoreDelete": True,
    "rescanIntervalS": 3600,
}


def folder_body(
    folder_id: str,
    path: str,
    device_ids: Iterable[str],
    *,
    label: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete ``POST /rest/config/folders`` body. List self among ``device_ids``."""
    body: dict[str, Any] = {
        "id": folder_id,
        "label": label or folder_id,
        "path": path,
        "devices": [{"deviceID": device} for device in dict.fromkeys(device_ids)],
        **FOLDER_SETTINGS,
        **OPTIONAL_FOLDER_SETTINGS,
    }
    body.update(overrides or {})
    return body


def folder_drift(current: Mapping[str, Any]) -> dict[str, Any]:
    """The roam settings an existing folder does not have yet (empty when it is in order)."""
    drift = {key: value for key, value in FOLDER_SETTINGS.items() if current.get(key) != value}
    return drift | optional_folder_drift(current)


MARKER_KEEP: Final = ".roam-keep"


def protect_folder_marker(projects_dir: Path) -> Path:
    """Put a file inside Syncthing's ``.stfolder`` marker so that it is never empty.

    Measured with Claude Code 2.1.331: a session that runs a few seconds removes every empty
    directory under ``projects/``, the marker included, and Syncthing then refuses to scan the
    folder ("folder marker missing") until someone recreates it. Syncthing never syncs
    ``.stfolder``, so the file stays on this machine.
    """
    marker = projects_dir / ".stfolder"
    make_private_dirs(marker)
    keep = marker / MARKER_KEEP
    if not keep.exists():
        keep.write_text(
            "Keeps Syncthing's folder marker from being removed as an empty directory.\n",
            encoding="utf-8",
        )
        keep.chmod(0o600)
    return keep
