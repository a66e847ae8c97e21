"""``roam restore`` and the heal pass that ``roam watch`` runs: sessions never stay lost.

One pass (``heal``) does, in order: apply tombstones (deliberate ``roam rm`` removals), re-announce
files this node holds that another machine deleted (``engine.reassert``), then refresh the
local archive (``engine.archive``). ``roam restore`` lists the sessions this machine lost that
the archive or a peer still holds, and links the archived ones back (a peer gives back its own
when its roam heals); with Syncthing reachable it heals first, so peers get back what they
deleted too. A restored file is a new local version, concurrent with the deletion, so Syncthing
sends it to every peer and the deletion loses.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from session_roam.engine.core.paths import validate_session_id
from session_roam.engine.core.safefs import has_link_below
from session_roam.engine.core.store import being_replaced, is_conflict_name
from session_roam.engine.deletions.archive import lost_files, refresh_archive, restore_files
from session_roam.engine.deletions.journal_restore import restore_journal
from session_roam.engine.deletions.reassert import reassert, session_of
from session_roam.engine.deletions.tombstones import (
    Removal,
    apply_tombstones,
    remove_session,
    tombstoned_sessions,
)
from session_roam.engine.sessions.journal import Journal
from session_roam.engine.syncthing.local import connect_local, find_roam_folder
from session_roam.errors import SessionNotFound, SetupError, SyncthingError

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = [
    "HealResult",
    "LostSession",
    "RestoreResult",
    "heal",
    "held_by_peers",
    "journaled_only",
    "list_lost",
    "remove_here",
    "restore",
    "restore_here",
]

#: Beyond this many paths one scan of the whole folder is cheaper than a long query string.
_MAX_SUBS = 100

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HealResult:
    removed: tuple[str, ...]
    reannounced: tuple[str, ...]
    archived_files: int


@dataclass(frozen=True, slots=True)
class LostSession:
    """A session (or project file) gone from this machine that the archive still holds."""

    session: str
    project: str
    files: tuple[str, ...]
    bytes: int
    source: str = "archive"

    def to_json(self) -> dict[str, object]:
        return {
            "session": self.session,
            "project": self.project,
            "files": list(self.files),
            "bytes": self.bytes,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class RestoreResult:
    lost: tuple[LostSession, ...]
    restored: tuple[str, ...]
    skipped: tuple[str, ...]
    seconds: float
    dry_run: bool
    heal: HealResult | None = None


def heal(projects_dir: Path, client: SyncthingClient | None, folder_id: str | None) -> HealResult:
    """Apply tombstones, re-announce what peers deleted, refresh the archive (module doc)."""
    removed = apply_tombstones(projects_dir)
    announced: tuple[str, ...] = ()
    if client is not None and folder_id is not None:
        stones = tombstoned_sessions(projects_dir)
        done = reassert(client, folder_id, projects_dir, is_tombstoned=stones.__contains__)
        announced = done.announced
    refreshed = refresh_archive(projects_dir)
    return HealResult(
        removed=tuple(r.session for r in removed),
        reannounced=announced,
        archived_files=refreshed.files,
    )


def list_lost(projects_dir: Path) -> list[LostSession]:
    """Sessions this machine lost that its archive holds, tombstoned ones left out."""
    stones = tombstoned_sessions(projects_dir)
    grouped: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for lost in lost_files(projects_dir, is_tombstoned=stones.__contains__):
        project = lost.relpath.split("/", 1)[0]
        grouped[(project, lost.session or lost.relpath)].append((lost.relpath, lost.size))
    return [
        LostSession(
            session=session,
            project=project,
            files=tuple(sorted(p for p, _ in files)),
            bytes=sum(size for _, size in files),
        )
        for (project, session), files in sorted(grouped.items())
    ]


def held_by_peers(
    client: SyncthingClient, folder_id: str, projects_dir: Path, known: set[str]
) -> list[LostSession]:
    """Sessions gone here that a peer kept through the deletion (``/rest/db/remoteneed``).

    This machine cannot pull them (the global state is its own deletion); the peer gives them
    back when its roam re-announces them. ``known`` are sessions the archive already lists.
    """
    stones = tombstoned_sessions(projects_dir)
    names = {d.device_id: d.name or d.device_id[:7] for d in client.devices()}
    me = client.my_id()
    grouped: dict[tuple[str, str], set[str]] = defaultdict(set)
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for device in client.folder(folder_id).device_ids:
        if device == me:
            continue
        for item in client.remote_need(folder_id, device):
            relpath = str(item.get("name", ""))
            session = session_of(relpath)
            if (
                not item.get("deleted")
                or item.get("type") != "FILE_INFO_TYPE_FILE"
                or relpath.startswith(".")
                or is_conflict_name(relpath)
                or session in known
                or session in stones
                or os.path.lexists(projects_dir / relpath)
            ):
                continue
            key = (relpath.split("/", 1)[0], session or relpath)
            grouped[key].add(relpath)
            holders[key].add(names.get(device, device[:7]))
    return [
        LostSession(
            session=session,
            project=project,
            files=tuple(sorted(files)),
            bytes=0,
            source="peer " + ", ".join(sorted(holders[(project, session)])),
        )
        for (project, session), files in sorted(grouped.items())
    ]


def journaled_only(projects_dir: Path, known: set[str]) -> list[LostSession]:
    """Sessions gone here that neither the archive nor a peer holds, but this node's journal
    does: the last resort, with only the rows written here through ``roam cr`` or the hooks."""
    journal = Journal()
    stones = tombstoned_sessions(projects_dir)
    found = []
    for session in journal.session_ids():
        if session in known or session in stones:
            continue
        path = journal.status(session).session_path
        if path is None or os.path.lexists(path) or being_replaced(path):
            continue  # here, or missing only while Syncthing renames its new version in
        if has_link_below(path.parents[1], path):
            continue  # its project folder is a link now (a peer's?): never written through
        base = Path(os.path.realpath(projects_dir))
        real = Path(os.path.realpath(path.parent)) / path.name
        if base not in real.parents:
            continue  # journaled under another Claude config folder
        relpath = real.relative_to(base).as_posix()
        found.append(
            LostSession(
                session=session,
                project=relpath.split("/", 1)[0],
                files=(relpath,),
                bytes=0,
                source="journal",
            )
        )
    return found


def _from_journal(projects_dir: Path, lost: list[LostSession]) -> list[str]:
    journal = Journal()
    restored: list[str] = []
    for item in lost:
        if item.source == "journal":
            restore_journal(journal, item.session)
            restored.extend(item.files)
    return restored


def restore(
    projects_dir: Path,
    *,
    session: str | None,
    dry_run: bool = False,
    client: SyncthingClient | None = None,
    folder_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RestoreResult:
    """Bring back one session (``session``) or every lost one (``None``); never overwrites."""
    started = time.monotonic()
    healed = None
    if not dry_run:
        healed = heal(projects_dir, client, folder_id)
    lost = list_lost(projects_dir)
    if client is not None and folder_id is not None:
        lost += held_by_peers(client, folder_id, projects_dir, {item.session for item in lost})
    lost += journaled_only(projects_dir, {item.session for item in lost})
    if session is not None:
        wanted = validate_session_id(session)
        lost = [item for item in lost if item.session == wanted]
        if not lost:
            raise SessionNotFound(
                f"Session {wanted} is not among the sessions this machine lost.",
                hint="Run `roam restore --dry-run` to list the ones that can be brought back.",
            )
    files = [relpath for item in lost if item.source == "archive" for relpath in item.files]
    restored: list[str] = []
    skipped: list[str] = []
    if not dry_run:
        restored, skipped = restore_files(projects_dir, files, progress=progress)
        restored += _from_journal(projects_dir, lost)
        if restored and client is not None and folder_id is not None:
            client.scan(folder_id, restored if len(restored) <= _MAX_SUBS else None)
    return RestoreResult(
        lost=tuple(lost),
        restored=tuple(restored),
        skipped=tuple(skipped),
        seconds=time.monotonic() - started,
        dry_run=dry_run,
        heal=healed,
    )


def restore_here(
    projects_dir: Path,
    *,
    session: str | None,
    dry_run: bool = False,
    syncthing_home: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RestoreResult:
    """``restore`` with this machine's Syncthing when it answers, from the archive alone if not.

    A machine whose Syncthing is off (or whose peers are) still gets its sessions back from the
    archive; Syncthing sends them on once it runs.
    """
    try:
        local = connect_local(syncthing_home)
    except (SetupError, SyncthingError) as exc:
        log.info("Restoring without Syncthing: %s", exc.message)
        return restore(projects_dir, session=session, dry_run=dry_run, progress=progress)
    with local:
        folder = find_roam_folder(local.client, projects_dir)
        return restore(
            projects_dir,
            session=session,
            dry_run=dry_run,
            client=local.client,
            folder_id=None if folder is None else folder.id,
            progress=progress,
        )


def remove_here(
    projects_dir: Path, session: str, *, dry_run: bool, syncthing_home: Path | None = None
) -> Removal:
    """``roam rm``: tombstone and remove one session, named by this node's device id."""
    device = "unknown"
    try:
        with connect_local(syncthing_home) as local:
            device = local.client.my_id()
    except (SetupError, SyncthingError) as exc:
        log.info("Removing without Syncthing (the tombstone travels once it runs): %s", exc)
    return remove_session(projects_dir, session, device_id=device, dry_run=dry_run)
