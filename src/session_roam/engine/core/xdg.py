"""roam's own folders (config, state, cache), following the XDG base-directory rules.

They live outside the synced projects folder on purpose: backups and leases written there never
travel to another machine by accident. Each folder is created 0700 because backups hold whole
conversations.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from session_roam.engine.core.atomic import make_private_dirs

__all__ = ["APP_NAME", "cache_dir", "config_dir", "config_dir_path", "state_dir", "state_dir_path"]

APP_NAME: Final = "session-roam"


def _where(variable: str, default: Path) -> Path:
    value = os.environ.get(variable, "")
    # The spec says relative values are invalid and must be ignored.
    base = Path(value) if value and os.path.isabs(value) else default
    return base / APP_NAME


def _xdg(variable: str, default: Path) -> Path:
    folder = _where(variable, default)
    make_private_dirs(folder)
    folder.chmod(0o700)
    return folder


def config_dir() -> Path:
    """Settings (``$XDG_CONFIG_HOME/session-roam``, default ~/.config/session-roam)."""
    return _xdg("XDG_CONFIG_HOME", Path.home() / ".config")


def config_dir_path() -> Path:
    """Where ``config_dir`` is, without creating it: for readers that run on every command and
    must not leave an empty folder behind on a machine roam was never set up on."""
    return _where("XDG_CONFIG_HOME", Path.home() / ".config")


def state_dir() -> Path:
    """Backups and leases: ``$XDG_STATE_HOME/session-roam`` (~/.local/state/session-roam)."""
    return _xdg("XDG_STATE_HOME", Path.home() / ".local" / "state")


def state_dir_path() -> Path:
    """Where ``state_dir`` is, without creating it (``roam status``, ``roam uninstall``)."""
    return _where("XDG_STATE_HOME", Path.home() / ".local" / "state")


def cache_dir() -> Path:
    """Anything roam can rebuild: ``$XDG_CACHE_HOME/session-roam`` (~/.cache/session-roam)."""
    return _xdg("XDG_CACHE_HOME", Path.home() / ".cache")
