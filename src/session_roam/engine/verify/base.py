"""Helpers and thresholds shared by the verify checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from session_roam.engine.verify.model import Finding, Status

if TYPE_CHECKING:
    from session_roam.engine.verify.model import Snapshot

__all__ = [
    "AGENT_PREFIX",
    "CLOCK_FAIL_S",
    "CLOCK_WARN_S",
    "DISK_FAIL_BYTES",
    "DISK_WARN_BYTES",
    "SESSION_GRACE_S",
    "WATCHER_DELAY_MAX_S",
    "listed",
    "ok",
    "unchecked",
]

AGENT_PREFIX: Final = "agent:"
#: A session written this recently may still be on its way to a peer.
SESSION_GRACE_S: Final = 10.0
#: Offsets include ~1 s of sync latency; Syncthing picks conflict winners by mtime, so a few
#: seconds already decide who wins, and a minute makes "newest" meaningless.
CLOCK_WARN_S: Final = 10.0
CLOCK_FAIL_S: Final = 60.0
DISK_FAIL_BYTES: Final = 100 * 1024 * 1024
DISK_WARN_BYTES: Final = 1024 * 1024 * 1024
WATCHER_DELAY_MAX_S: Final = 5.0
_SHOWN: Final = 3


def ok(dimension: str, message: str) -> list[Finding]:
    """The one finding of a dimension that is in order (every report lists every dimension)."""
    return [Finding(dimension, Status.OK, message)]


def unchecked(dimension: str, snap: Snapshot) -> list[Finding]:
    """A dimension whose facts could not be gathered warns; the cause fails elsewhere."""
    reason = snap.skipped or "Syncthing could not be asked"
    return [Finding(dimension, Status.WARN, f"Not checked: {reason}.")]


def listed(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")
