"""Whether the files a merge read are still as read: the checks before a merge writes.

Syncthing may replace or deliver a file of the session while roam merges it. The merge checks
twice: before it makes its backup (so a refusal, the common case, leaves no backup of a merge
that never happened) and again at the last moment before it writes (the window is then
milliseconds). A refusal is ``MergeRaced``: nothing of that session was changed (``merge
--all`` names the sessions it merged before it: ``merging.merge_sessions``), and the same merge
tried once Syncthing settles normally succeeds (``roam watch`` retries it, a bounded number of
times). A backup made before the late refusal is removed again (``discard``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from session_roam.engine.core.backup import discard_backup, sha256_hex
from session_roam.engine.core.backup_store import drop_source_link, file_identity
from session_roam.engine.core.store import being_replaced, read_bytes_if_present
from session_roam.errors import MergeRaced, SetupError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from session_roam.engine.conflicts.plan import SessionPlan
    from session_roam.engine.core.backup import Backup, Original

__all__ = [
    "check_still_as_read",
    "check_writable",
    "discard",
    "still_as_read",
    "unchanged",
]


def unchanged(path: Path, sha256: str) -> bool | None:
    """True if ``path`` still holds the bytes with ``sha256``; None if it is gone."""
    data = read_bytes_if_present(path)
    return None if data is None else sha256_hex(data) == sha256


def still_as_read(path: Path, original: Original) -> bool | None:
    """True if ``path`` still holds the bytes read; None if it is gone.

    A file read while nothing changed it is compared by (inode, size, mtime), the check
    Syncthing itself relies on: Syncthing replaces files by a rename and Claude Code appends,
    both of which change one of them. Only a file that moved while it was read is hashed again.
    """
    if original.identity is None:
        return unchanged(path, original.sha256 or sha256_hex(original.data))
    now = file_identity(path)
    if now is None and not os.path.lexists(path):
        return None
    return now == original.identity


def check_still_as_read(plan: SessionPlan, created: Sequence[str]) -> None:
    """Refuse to write if Syncthing changed or delivered a file since it was read.

    Syncthing replaces a file by removing it and renaming its new version into place, so a file
    the merge replaces may be missing for a moment: missing now, or missing when planned and
    there now (or its Syncthing temp file is being written), it is refused too, or the merge
    would be renamed over (its lines lost) or write over a version it never read.
    This shrinks the window to milliseconds; closing it is the lease's job (one writer).
    """
    session = plan.session
    targets = {file.relative for file in plan.files if file.result is not None}
    moved: list[str] = []
    for original in plan.originals:
        now = still_as_read(session.project_dir / original.relative, original)
        if now is False or (now is None and original.relative in targets):
            moved.append(original.relative)  # a copy gone meanwhile is only left out (below)
        targets.discard(original.relative)
    moved += [
        rel
        for rel in sorted(targets | set(created))  # targets left: missing when planned
        if (session.project_dir / rel).exists() or being_replaced(session.project_dir / rel)
    ]
    if moved:
        raise MergeRaced(
            f"{moved[0]} changed while roam was merging session {session.session_id}; "
            "none of its files in the synced folder was changed."
        )


def check_writable(plan: SessionPlan, written: Sequence[str]) -> None:
    """Refuse, before any backup is made, when a folder the merge writes in is read-only.

    Otherwise the write fails after the backup, leaving a backup of a merge that never happened.
    """
    project_dir = plan.session.project_dir
    removed = [rel for f in plan.files for rel, _digest in f.removes]
    for relative in [*written, *removed]:
        folder = (project_dir / relative).parent
        while not folder.exists() and folder != project_dir:
            folder = folder.parent  # make_private_dirs creates it inside the nearest one there
        if not os.access(folder, os.W_OK | os.X_OK):
            raise SetupError(
                f"Cannot merge session {plan.session.session_id}: the folder {folder} is "
                "read-only for you, so none of its files was changed.",
                hint=f"Give your user write access to it (see `ls -ld {folder}`), then run "
                "`roam conflicts merge` again.",
            )


def discard(plan: SessionPlan, backup: Backup) -> None:
    """Remove the backup of a merge refused before it wrote anything.

    It holds only what the merge read, none of which roam changed: the files it was about to
    replace or remove (still in the synced folder, or replaced or removed there by Syncthing,
    not by roam), the ``--with`` versions (the merge never removes them: a person's file stays
    where it was given; the temp file of a journal restore or a bundle is rebuilt by running
    that command again), the lines it would have set aside (taken from those) and its manifest; no
    file was created yet. So removing it loses nothing, while keeping it would list a merge
    that never happened. Stored objects that are hard links to the synced files themselves
    are unlinked, so that no later backup links to a file that stays in place and may be
    appended to.
    """
    by_relative = {original.relative: original for original in plan.originals}
    try:
        discard_backup(backup)
    finally:
        for item in backup.files:
            original = by_relative.get(item.relative)
            if original is not None and original.identity is not None:
                drop_source_link(item.sha256, original.identity)
