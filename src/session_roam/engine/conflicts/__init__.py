"""Syncthing's conflict copies turned back into one timeline: plan, merge, undo, the forks a
take-over leaves, and ``roam watch`` merging them as they appear.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.conflicts.find import (
        describe_pending,
        pending_sessions,
        resolve_backup_session,
        resolve_session,
    )
    from session_roam.engine.conflicts.forks import mark_stolen_session
    from session_roam.engine.conflicts.heartbeat import WatchBeat, beat, read_beats, stop_beating
    from session_roam.engine.conflicts.merging import (
        MergeResult,
        backed_up_sessions,
        merge_sessions,
        undo_session,
    )
    from session_roam.engine.conflicts.watch import Watcher, WatchEvent

__all__ = [
    "MergeResult",
    "WatchBeat",
    "WatchEvent",
    "Watcher",
    "backed_up_sessions",
    "beat",
    "describe_pending",
    "mark_stolen_session",
    "merge_sessions",
    "pending_sessions",
    "read_beats",
    "resolve_backup_session",
    "resolve_session",
    "stop_beating",
    "undo_session",
]

__getattr__ = lazy_face(
    __name__,
    {
        "find": (
            "describe_pending",
            "pending_sessions",
            "resolve_backup_session",
            "resolve_session",
        ),
        "forks": ("mark_stolen_session",),
        "heartbeat": ("WatchBeat", "beat", "read_beats", "stop_beating"),
        "merging": ("MergeResult", "backed_up_sessions", "merge_sessions", "undo_session"),
        "watch": ("WatchEvent", "Watcher"),
    },
)
