"""Make Claude Code's own clean-up harmless: ``cleanupPeriodDays`` in its settings.json.

Claude Code deletes every session whose *mtime* is older than ``cleanupPeriodDays`` (default
30) each time it starts (``src/utils/cleanup.ts``: ``if (stats.mtime < cutoffDate) unlink``).
Syncthing keeps mtimes, so a machine that has just joined receives the whole archive "old" and
its first ``claude`` deletes it. The folder's ``ignoreDelete`` keeps the other machines' copies,
but the joining machine would still lose its own; so ``roam setup`` raises the setting to
``SAFE_CLEANUP_DAYS`` when it is absent or smaller, keeping every other key (the same safe
edit as ``engine.hooks``: previous bytes backed up, atomic replace). A value the user set at
or above the floor is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.claude.hooks import load_settings, settings_path, write_settings
from session_roam.errors import RoamError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = [
    "CLAUDE_DEFAULT_DAYS",
    "KEY",
    "SAFE_CLEANUP_DAYS",
    "CleanupChange",
    "cleanup_days",
    "deletion_policy",
    "ensure_safe_cleanup",
]

KEY: Final = "cleanupPeriodDays"
#: What Claude Code uses when the key is absent.
CLAUDE_DEFAULT_DAYS: Final = 30
#: About 274 years: never reached, yet an ordinary integer every Claude Code version accepts.
SAFE_CLEANUP_DAYS: Final = 99999


@dataclass(frozen=True, slots=True)
class CleanupChange:
    settings: Path
    before: int | None
    after: int
    changed: bool
    backup: Path | None = None


def _days(document: dict[str, Any]) -> int | None:
    value = document.get(KEY)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def cleanup_days(claude_dir: Path) -> int | None:
    """The configured value, or ``None`` when absent (Claude Code then uses 30)."""
    return _days(load_settings(settings_path(claude_dir))[0])


def ensure_safe_cleanup(claude_dir: Path, *, backup_dir: Path | None = None) -> CleanupChange:
    """Raise ``cleanupPeriodDays`` to the safe floor unless it is already there."""
    path = settings_path(claude_dir)
    document, raw = load_settings(path)
    before = _days(document)
    if before is not None and before >= SAFE_CLEANUP_DAYS:
        return CleanupChange(path, before, before, changed=False)
    backup = write_settings(path, {**document, KEY: SAFE_CLEANUP_DAYS}, raw, backup_dir)
    return CleanupChange(path, before, SAFE_CLEANUP_DAYS, changed=True, backup=backup)


def deletion_policy(folder: Mapping[str, Any], claude_dir: Path) -> tuple[bool, int | None]:
    """``(ignoreDelete, cleanupPeriodDays)`` as ``engine.nodeinfo`` publishes them.

    A settings file roam cannot read counts as unset: Claude Code then cleans up after 30 days.
    """
    try:
        days = cleanup_days(claude_dir)
    except RoamError:
        days = None
    return folder.get("ignoreDelete") is True, days
