"""`roam conflicts`: merge a session's Syncthing conflict copies, and undo a merge.

Which sessions have copies, and which one a person means, is ``conflicts.find``.

The order of a merge is what makes it safe:

1. plan: read every version once and merge in memory (nothing written; a dry run stops here);
2. refuse if another node holds the session's lease (``is_locked``), unless forced, or if
   Syncthing changed a file since it was read (``MergeRaced``; checked again at the last
   moment, after the backup, which such a late refusal removes: ``settled``);
3. back up every file the merge replaces or removes (a hard link where it can: the synced file
   is only ever renamed over or unlinked), fsynced, outside the synced folder; a file it
   leaves as it is needs no backup;
4. write merged files atomically; remove each conflict copy only if it still holds exactly the
   bytes that were merged (a copy that changed meanwhile is left for the next run);
5. prune backups beyond their bound (``engine.backup_bound``; never a young one).

``undo`` puts the newest backup back byte for byte, after checking that nobody wrote to the
merged files since (a continued session would otherwise lose its new turns).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from session_roam.engine.conflicts.settled import (
    check_still_as_read,
    check_writable,
    discard,
    still_as_read,
    unchanged,
)
from session_roam.engine.core.atomic import atomic_write, fsync_dir, make_private_dirs
from session_roam.engine.core.backup import (
    Backup,
    Original,
    backed_up_sessions,
    create_backup,
    latest_backup,
    mark_undone,
    restore_file,
    sha256_hex,
)
from session_roam.engine.core.backup_store import file_identity, unshare
from session_roam.engine.core.paths import ensure_inside, validate_session_id
from session_roam.engine.core.safefs import has_link_below, refuse_links
from session_roam.engine.core.store import SessionFiles, find_session_files, read_bytes
from session_roam.engine.core.temps import sweep_dead_temps
from session_roam.errors import InvalidInput, LeaseHeld, MergeError, RoamError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from session_roam.engine.conflicts.plan import SessionPlan

__all__ = [
    "MergeResult",
    "UndoResult",
    "backed_up_sessions",
    "merge_session",
    "merge_sessions",
    "undo_session",
]

_log = logging.getLogger(__name__)


Status = Literal["nothing-to-do", "dry-run", "merged"]


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What a merge did (or, for a dry run, would do) to one session."""

    plan: SessionPlan
    status: Status
    backup: Path | None = None
    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    remaining: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return self.plan.to_dict() | {
            "status": self.status,
            "backup": None if self.backup is None else str(self.backup),
            "written": list(self.written),
            "removed": list(self.removed),
            "remaining_conflict_copies": list(self.remaining),
        }


@dataclass(frozen=True, slots=True)
class UndoResult:
    """What ``undo`` put back and what it removed."""

    session_id: str
    project_dir: Path
    backup: Path
    restored: tuple[str, ...]
    removed: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "project_dir": str(self.project_dir),
            "backup": str(self.backup),
            "restored": list(self.restored),
            "removed": list(self.removed),
        }


# -- merging ----------------------------------------------------------------------------------


def _write_all(plan: SessionPlan, written: Mapping[str, bytes], backup: Path) -> None:
    """Write the merged files; a write refused half way is a ``MergeError`` naming the backup."""
    for relative, data in written.items():
        target = plan.session.project_dir / relative
        try:
            make_private_dirs(target.parent)
            atomic_write(target, data)
        except PermissionError as exc:
            raise MergeError(
                f"Could not write {target} (permission denied) while merging session "
                f"{plan.session.session_id}; the originals are in the backup {backup}.",
                hint="Give your user write access to the folder, then run `roam conflicts merge` "
                "again: it merges whatever is there, and every original stays in the backup.",
            ) from exc


def _unshare_all(plan: SessionPlan, backup: Path) -> None:
    """Make the backup's hard links to synced files still in place copies of their own: every
    file of the backup is compared with every original still at its path as it was read (a copy
    left, a merge that stopped, a transcript Claude Code may append to), since originals with
    the same bytes share one stored object. An original gone from its path, or replaced there,
    is left out: no synced name links its inode any more, and once nothing does, the system may
    give that inode number to a file ``unshare`` itself writes, which would then be taken for
    it."""
    synced: dict[tuple[int, int], tuple[bytes, str]] = {}
    for original in plan.originals:
        if original.identity is None:
            continue
        now = file_identity(plan.session.project_dir / original.relative)
        if now is not None and now[:2] == original.identity[:2]:
            digest = original.sha256 or sha256_hex(original.data)
            synced[original.identity[:2]] = (original.data, digest)
    if synced:
        unshare(backup, synced)


def _discard(plan: SessionPlan, backup: Backup) -> None:
    """``discard`` the backup of a merge refused before it wrote; should that fail, the backup
    stays, sharing no synced file, and the refusal is still what the caller sees."""
    try:
        discard(plan, backup)
    except OSError as exc:
        _log.warning(
            "could not remove the backup %s of a merge that wrote nothing: %s", backup.path, exc
        )
        _unshare_all(plan, backup.path)


def _seal(plan: SessionPlan, backup: Path) -> None:
    """Backup files that were hard links to synced files (now replaced or removed) get 0600."""
    for original in plan.originals:
        if original.identity is not None:
            with contextlib.suppress(OSError):
                os.chmod(backup / "files" / original.relative, 0o600, follow_symlinks=False)


def _apply(plan: SessionPlan, now: datetime | None) -> MergeResult:
    from session_roam.engine.conflicts.plan import replaced_files, written_digests, written_files

    session = plan.session
    written = written_files(plan.files)
    created = [rel for rel in written if not (session.project_dir / rel).exists()]
    check_writable(plan, list(written))
    check_still_as_read(plan, created)  # most refusals: before there is a backup to remove
    set_aside = [line for f in plan.files if f.outcome for line in f.outcome.set_aside]
    backup = create_backup(
        session_id=session.session_id,
        project_dir=session.project_dir,
        originals=[o for o in plan.originals if o.relative in replaced_files(plan.files)],
        extras=plan.extras,
        written_sha256=written_digests(plan.files),
        created_files=created,
        set_aside=set_aside,
        details={"kind": "merge", "plan": plan.to_dict()},
        now=now,
    )
    try:  # again at the last moment: Syncthing may have swapped a file, a peer planted a link
        check_still_as_read(plan, created)
        for relative in written:
            refuse_links(session.project_dir, session.project_dir / relative)
    except BaseException:  # nothing written: the backup would list a merge that never happened
        _discard(plan, backup)
        raise
    try:
        _write_all(plan, written, backup.path)
    except BaseException:  # the synced files stay: the backup must not share their inodes
        _unshare_all(plan, backup.path)
        raise
    by_relative = {original.relative: original for original in plan.originals}
    removed: list[str] = []
    for file_plan in plan.files:
        for relative, _digest in file_plan.removes:
            copy = session.project_dir / relative
            if not has_link_below(session.project_dir, copy.parent) and still_as_read(
                copy, by_relative[relative]
            ):
                copy.unlink()
                fsync_dir(copy.parent)
                removed.append(relative)
            else:
                _log.warning("left %s: it changed or vanished after it was read", copy)
    _unshare_all(plan, backup.path)
    _seal(plan, backup.path)
    after = find_session_files(session.project_dir, session.session_id)
    remaining = tuple(os.path.relpath(c.path, session.project_dir) for c in after.conflict_copies)
    from session_roam.engine.core.backup_bound import prune_quietly

    prune_quietly()  # every merge adds a backup; the store stays within its bound
    return MergeResult(plan, "merged", backup.path, tuple(written), tuple(removed), remaining)


def merge_session(
    session: SessionFiles,
    *,
    extras: Sequence[Path] = (),
    dry_run: bool = False,
    is_locked: Callable[[str], bool] | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> MergeResult:
    """Merge every conflict copy of ``session`` (and ``extras``) into one set of files.

    ``is_locked(session_id)`` is asked before anything is written; a True answer raises
    LeaseHeld unless ``force``. A dry run reads and merges in memory and writes nothing. Temps
    that a killed write left in the session's folders are removed first (``engine.temps``).
    """
    # The merge engine is imported on first use: `roam cr` imports this module on every start
    # and almost never has conflict copies to merge.
    from session_roam.engine.conflicts.plan import plan_session

    if not dry_run:  # what a killed earlier merge (or any killed write) left here
        sweep_dead_temps(session.project_dir)
        sweep_dead_temps(session.project_dir / session.session_id, recursive=True)
    plan = plan_session(session, extras)
    if not plan.has_work:
        return MergeResult(plan, "nothing-to-do")
    if dry_run:
        return MergeResult(plan, "dry-run")
    if is_locked is not None and not force and is_locked(session.session_id):
        raise LeaseHeld(
            f"Session {session.session_id} is being written on another machine, "
            "so its files were not merged."
        )
    return _apply(plan, now)


def merge_sessions(
    sessions: Sequence[SessionFiles],
    *,
    extras: Sequence[Path] = (),
    dry_run: bool = False,
    is_locked: Callable[[str], bool] | None = None,
    force: bool = False,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> tuple[MergeResult, ...]:
    """``merge_session`` for each session in turn, reporting progress after each."""
    if extras and len(sessions) != 1:
        raise InvalidInput(
            f"--with adds versions of one session, but the merge covers {len(sessions)} sessions.",
            hint="Name the session: `roam conflicts merge SESSION --with FILE`.",
        )
    results: list[MergeResult] = []
    for done, session in enumerate(sessions, start=1):
        try:
            result = merge_session(
                session, extras=extras, dry_run=dry_run, is_locked=is_locked, force=force
            )
        except RoamError as exc:  # its message speaks of this session: add what came before
            _say_what_was_merged(exc, session.session_id, results, sessions[done:])
            raise
        results.append(result)
        if on_progress is not None:
            on_progress(done, len(sessions), session.session_id)
    return tuple(results)


def _say_what_was_merged(
    exc: RoamError,
    refused: str,
    before: Sequence[MergeResult],
    after: Sequence[SessionFiles],
) -> None:
    """Add to a refusal of one session of several where it stopped and what the others became:
    the sessions merged before it stay merged (each with its backup), the ones after it were not
    tried. In the message (which may not name the session: Syncthing not answering, a file that
    cannot be read) and, as ``stopped_at``, ``merged_before`` and ``not_tried``, in the JSON
    error envelope."""
    if not before and not after:
        return  # one session: its message says it all
    merged = [result for result in before if result.status == "merged"]
    exc.details["stopped_at"] = refused
    exc.details["merged_before"] = [
        {
            "session_id": result.plan.session.session_id,
            "project_dir": str(result.plan.session.project_dir),
            "backup": str(result.backup),
        }
        for result in merged
    ]
    exc.details["not_tried"] = [session.session_id for session in after]
    said = []
    if merged:
        ids = ", ".join(result.plan.session.session_id for result in merged)
        said.append(f"{len(merged)} session(s) merged before it stay merged ({ids})")
    if after:
        said.append(f"{len(after)} session(s) after it were not tried")
    rest = "; ".join(said) or "no session before it was merged"
    exc.message = f"{exc.message} Stopped at session {refused}: {rest}."
    exc.args = (exc.message,)


# -- undo -------------------------------------------------------------------------------------


def _check_untouched(backup: Backup, project_dir: Path) -> list[str]:
    changed = []
    for relative, digest in backup.written.items():
        if unchanged(project_dir / relative, digest) is False:
            changed.append(relative)
    return changed


def undo_session(session_id: str, projects_root: Path, *, force: bool = False) -> UndoResult:
    """Put the newest backup of ``session_id`` back in place, byte for byte.

    Refuses (MergeError) when a file the merge wrote has changed since, because restoring would
    drop what was appended; ``force`` first saves those files in a new backup, then restores.
    """
    session_id = validate_session_id(session_id)
    backup = latest_backup(session_id)
    project_dir = ensure_inside(backup.project_dir, projects_root)
    changed = _check_untouched(backup, project_dir)
    if changed and not force:
        raise MergeError(
            f"{', '.join(changed)} changed after the merge, so undo would lose the new data.",
            hint="Run `roam conflicts undo SESSION --force` to save the current files in a "
            "new backup and restore anyway.",
        )
    if changed:
        current = [
            Original(rel, read_bytes(project_dir / rel), (project_dir / rel).stat().st_mode & 0o777)
            for rel in sorted(backup.written)
            if (project_dir / rel).exists()
        ]
        create_backup(
            session_id=session_id,
            project_dir=project_dir,
            originals=current,
            details={"kind": "before-undo", "undoing": str(backup.path)},
        )
    restored: list[str] = []
    real_root = Path(os.path.realpath(projects_root))
    for item in backup.files:
        target = project_dir / item.relative
        ensure_inside(target, projects_root)
        refuse_links(real_root, target.parent)  # never restore through a planted link
        restore_file(target, backup.data_of(item), item.mode)
        restored.append(item.relative)
    backed = {item.relative for item in backup.files}
    removed: list[str] = []
    for relative in backup.created_files:
        target = ensure_inside(project_dir / relative, projects_root)
        if relative not in backed and target.exists():
            target.unlink()
            fsync_dir(target.parent)
            removed.append(relative)
    mark_undone(backup, datetime.now().astimezone().isoformat())
    return UndoResult(session_id, project_dir, backup.path, tuple(restored), tuple(removed))
