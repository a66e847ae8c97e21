"""``roam rm``: the one deletion that travels, as a tombstone every node applies to itself.

Every roam folder ignores deletions from peers (``engine.stfolder``), so unlinking a session on
one machine would not remove it anywhere else - by design. A removal the user asks for is
written instead as ``<projects>/.roam/tombstones/<session-id>.json``, an ordinary new file that
syncs everywhere. Each node's roam (``roam watch``, ``roam setup``, ``roam verify --fix``,
``roam restore``) applies it: it copies the session's bytes into the backup store outside the
synced folder (``engine.backup``, so even this is recoverable), removes its own copy, and drops
its archive entries. Re-announcing (``engine.reassert``) and ``roam restore`` skip tombstoned
sessions, so the removal sticks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from session_roam.engine.core.atomic import atomic_write, fsync_dir, make_private_dirs
from session_roam.engine.core.backup import Original, create_backup
from session_roam.engine.core.paths import validate_session_id
from session_roam.engine.core.peer_schema import PeerDataError, load_state, read_state_bytes
from session_roam.engine.core.safefs import read_bytes_nofollow, refuse_links
from session_roam.engine.core.store import is_conflict_name, original_name
from session_roam.engine.core.temps import sweep_dead_temps
from session_roam.engine.deletions.archive import drop_from_archive
from session_roam.engine.deletions.reassert import held_files, session_of
from session_roam.errors import SessionNotFound

__all__ = [
    "TOMBSTONES_DIR",
    "Removal",
    "apply_tombstones",
    "invalid_tombstones",
    "is_tombstoned",
    "remove_session",
    "session_paths",
    "tombstoned_sessions",
]

TOMBSTONES_DIR: Final = Path(".roam") / "tombstones"
SCHEMA: Final = "roam.tombstone/1"
_SESSION_ID_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class Removal:
    """One session removed (or, in a dry run, that would be) on this node."""

    session: str
    paths: tuple[str, ...]
    bytes: int
    backup: str | None


def _stone(projects_dir: Path, session: str) -> Path:
    return projects_dir / TOMBSTONES_DIR / f"{session}.json"


def tombstoned_sessions(projects_dir: Path) -> frozenset[str]:
    """Session ids that a ``roam rm`` on any node removed for good."""
    folder = projects_dir / TOMBSTONES_DIR
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return frozenset()
    return frozenset(
        name.removesuffix(".json")
        for name in names
        if name.endswith(".json")
        and _SESSION_ID_RE.fullmatch(name.removesuffix(".json"))
        and _stone_problem(projects_dir, name.removesuffix(".json")) is None
    )


def _stone_problem(projects_dir: Path, session: str) -> str | None:
    """Why the tombstone of ``session`` must not be applied, or None when it is a sound one.

    A tombstone deletes on every node, so one that arrives as a link, larger than a state file,
    not JSON, of another schema or naming another session is ignored (``invalid_tombstones``
    lists it for ``roam verify``): the safe failure keeps the session.
    """
    try:
        data = load_state(read_state_bytes(_stone(projects_dir, session), projects_dir))
    except FileNotFoundError:
        return "it is gone"
    except PeerDataError as exc:
        return str(exc)
    if data.get("schema") != SCHEMA:
        return "it is not a roam tombstone"
    if data.get("session") != session:
        return "it names another session than its file name"
    return None


def invalid_tombstones(projects_dir: Path) -> dict[str, str]:
    """Tombstone files here that are ignored, with the reason (for ``roam verify``)."""
    try:
        names = sorted(os.listdir(projects_dir / TOMBSTONES_DIR))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    found: dict[str, str] = {}
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        session = name.removesuffix(".json")
        if not _SESSION_ID_RE.fullmatch(session):
            found[name] = "its name is not a session id"
            continue
        problem = _stone_problem(projects_dir, session)
        if problem is not None and problem != "it is gone":
            found[name] = problem
    return found


def is_tombstoned(projects_dir: Path, session: str) -> bool:
    return bool(session) and _stone_problem(projects_dir, session) is None


def _by_session(projects_dir: Path) -> dict[str, list[str]]:
    """One walk: every file here (conflict copies included) under the session it belongs to."""
    found: dict[str, list[str]] = {}
    for relpath in held_files(projects_dir, conflicts=True):
        name = original_name(relpath) if is_conflict_name(relpath) else relpath
        found.setdefault(session_of(name), []).append(relpath)
    return found


def session_paths(projects_dir: Path, session: str) -> list[str]:
    """Every file of one session here: transcript, companions, and their conflict copies."""
    return _by_session(projects_dir).get(session, []) if session else []


def _remove_local(
    projects_dir: Path, session: str, *, dry_run: bool, paths: list[str] | None = None
) -> Removal:
    if paths is None:
        paths = session_paths(projects_dir, session)
    data: dict[str, bytes] = {}
    for relpath in paths:
        try:
            data[relpath] = read_bytes_nofollow(projects_dir / relpath, projects_dir)
        except FileNotFoundError:
            continue  # gone since the walk, or Syncthing is replacing it: the next pass sees it
    paths = [relpath for relpath in paths if relpath in data]
    if not paths:
        return Removal(session, (), 0, None)
    size = sum(len(b) for b in data.values())
    if dry_run:
        return Removal(session, tuple(paths), size, None)
    originals = [
        Original(relative=relpath, data=data[relpath], mode=0o600) for relpath in sorted(data)
    ]
    backup = create_backup(
        session_id=session,
        project_dir=projects_dir,
        originals=originals,
        details={"reason": "roam rm", "kind": "rm"},
    )
    for relpath in paths:
        (projects_dir / relpath).unlink(missing_ok=True)
    for folder in {(projects_dir / p).parent for p in paths}:
        fsync_dir(folder)
    for relpath in paths:
        parts = Path(relpath).parts
        if len(parts) > 2 and parts[1] == session:
            _prune_session_folder(projects_dir / parts[0] / session)
    drop_from_archive(paths)
    return Removal(session, tuple(paths), size, str(backup.path))


def _prune_session_folder(folder: Path) -> None:
    """The session's sibling folder goes too once its files are gone: a dead writer's temp
    (``engine.temps``) does not keep it, anything else does (it is left, never deleted)."""
    if folder.is_symlink() or not folder.is_dir():
        return
    for here, _dirs, _files in os.walk(folder, topdown=False):  # never follows links
        sweep_dead_temps(Path(here))
        with contextlib.suppress(OSError):  # not empty: something of its own is still there
            os.rmdir(here)


def remove_session(
    projects_dir: Path, session: str, *, device_id: str, dry_run: bool = False
) -> Removal:
    """Remove one session on every machine: back it up here, tombstone it, delete it here."""
    session = validate_session_id(session)
    refuse_links(projects_dir, _stone(projects_dir, session))  # the stone never goes via a link
    if not session_paths(projects_dir, session) and not is_tombstoned(projects_dir, session):
        raise SessionNotFound(f"No session {session} is on this machine.")
    removal = _remove_local(projects_dir, session, dry_run=dry_run)
    if not dry_run:
        stone = _stone(projects_dir, session)
        make_private_dirs(stone.parent)
        record = {
            "schema": SCHEMA,
            "session": session,
            "removed_by": device_id,
            "removed_at": datetime.now(UTC).isoformat(),
            "paths": list(removal.paths),
        }
        atomic_write(stone, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    return removal


def apply_tombstones(projects_dir: Path) -> list[Removal]:
    """Remove, after a backup, every local copy of a session some node tombstoned."""
    stones = tombstoned_sessions(projects_dir)
    if not stones:
        return []
    held = _by_session(projects_dir)
    return [
        _remove_local(projects_dir, session, dry_run=False, paths=held[session])
        for session in sorted(stones & held.keys())
    ]
