"""``roam journal restore``: merge this node's journal back into the synced session file.

The journal's version of the session (synced file + the rows it lost, ``Journal.as_version``)
goes through the same merge as a conflict copy (``engine.conflicts.merge_session`` with it as an
extra version), so it gets the same guarantees: a backup first, an atomic write, every record
kept, ``roam conflicts undo`` to go back.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from session_roam.engine.conflicts.merging import MergeResult, merge_session
from session_roam.engine.core import xdg
from session_roam.engine.core.store import find_session_files
from session_roam.engine.core.temps import sweep_dead_temps, temp_prefix
from session_roam.errors import SessionNotFound

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.sessions.journal import Journal

__all__ = ["RestoreResult", "restore_journal"]


@dataclass(frozen=True, slots=True)
class RestoreResult:
    session_id: str
    session_path: Path
    missing: int
    merge: MergeResult | None  # None when there was nothing to restore


def restore_journal(
    journal: Journal,
    session_id: str,
    *,
    session_path: Path | None = None,
    is_locked: Callable[[str], bool] | None = None,
    force: bool = False,
) -> RestoreResult:
    """Put back every journaled row the synced file lost; a no-op when none is missing."""
    status = journal.status(session_id, session_path)
    path = status.session_path
    if path is None or status.records == 0:
        raise SessionNotFound(
            f"This machine has no journal for session {status.session_id}.",
            hint="Run `roam journal status` to see the sessions journaled here.",
        )
    if status.missing == 0:
        return RestoreResult(status.session_id, path, 0, None)
    version = journal.as_version(status.session_id, session_path=path)
    folder = xdg.state_dir() / "restore"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    sweep_dead_temps(folder)  # what a killed restore left
    fd, name = tempfile.mkstemp(
        prefix=f"{temp_prefix()}{status.session_id}.", suffix=".jsonl", dir=folder
    )
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(version.data)
        files = find_session_files(path.parent, status.session_id)
        result = merge_session(files, extras=(temp,), is_locked=is_locked, force=force)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return RestoreResult(status.session_id, path, status.missing, result)
