"""Gathering the facts ``roam verify`` checks: every read of Syncthing, disk and config, once.

Nothing here judges; it records. A failure to reach Syncthing is a fact too (``ServiceFacts``),
and the facts that need Syncthing are then left empty with ``skipped`` saying why.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from session_roam import __version__
from session_roam.engine.claude.cleanup import cleanup_days, deletion_policy
from session_roam.engine.core import xdg
from session_roam.engine.core.backup_bound import BackupUsage, measure
from session_roam.engine.core.safefs import LinkRefused
from session_roam.engine.deletions.reassert import reassert
from session_roam.engine.deletions.restore import list_lost
from session_roam.engine.deletions.tombstones import tombstoned_sessions
from session_roam.engine.lease import api as lease_api
from session_roam.engine.lease.setup import engine_for
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.sessions.listing import foreign_cwds, suggest_mapping
from session_roam.engine.sessions.pathmap import PathMap, load_pathmap
from session_roam.engine.setup.shell import BEGIN_MARKER, detect_shell, rc_file
from session_roam.engine.setup.watch_service import watch_status
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.folder import folder_drift
from session_roam.engine.syncthing.ignore import STIGNORE, template_text
from session_roam.engine.syncthing.local import find_roam_folder
from session_roam.engine.syncthing.names import cluster_names, display_name
from session_roam.engine.syncthing.nodeinfo import claude_version, publish, read_nodes
from session_roam.engine.syncthing.pending import pending_devices, pending_folders
from session_roam.engine.verify.base import SESSION_GRACE_S
from session_roam.engine.verify.checks_synced import gather_synced_data, odd_project_names
from session_roam.engine.verify.connect import Connection, VerifyRequest, connect
from session_roam.engine.verify.model import (
    ConflictFacts,
    DeletionFacts,
    DiskFacts,
    FolderFacts,
    NamespaceFacts,
    PeerFacts,
    ServiceFacts,
    SessionCopyFacts,
    ShortcutFacts,
    Snapshot,
    WatchFacts,
)
from session_roam.engine.verify.sessions_check import NEWEST, read_sessions
from session_roam.errors import RoamError

if TYPE_CHECKING:
    from session_roam.engine.lease.engine import LeaseEngine
    from session_roam.engine.syncthing.client import SyncthingClient
    from session_roam.engine.syncthing.models import FolderConfig

__all__ = ["gather"]

#: Sessions compared file by file with each peer (newest first): one REST call each.
_MAX_COMPARED: Final = NEWEST
#: How long verify asks again about a session a connected peer seems to lack (see below).
_AVAILABILITY_SETTLE_S: Final = 3.0


def _peers(
    client: SyncthingClient, folder: FolderConfig | None, me: str, names: dict[str, str]
) -> tuple[PeerFacts, ...]:
    connections = client.connections()
    shared = set(folder.device_ids) if folder else set()
    entries = (folder.raw.get("devices") or []) if folder else []
    encrypted = {  # whether a password is set; the password itself is not kept
        e.get("deviceID") for e in entries if isinstance(e, dict) and e.get("encryptionPassword")
    }
    found = []
    for device in client.devices():
        if device.device_id == me:
            continue
        state = connections.get(device.device_id)
        connected = bool(state and state.connected)
        need, completion = 0, 100.0
        if folder is not None and connected and device.device_id in shared:
            done = client.completion(folder.id, device.device_id)
            need, completion = done.need_items, done.completion
        found.append(
            PeerFacts(
                device_id=device.device_id,
                name=display_name(names, device.device_id),
                connected=connected,
                paused=device.paused,
                shares_folder=device.device_id in shared,
                need_items=need,
                completion=completion,
                untrusted=bool(device.raw.get("untrusted", False)),
                encrypted=device.device_id in encrypted,
                connected_since=state.started_epoch if state and connected else None,
            )
        )
    return tuple(found)


class _Newest(NamedTuple):
    """One of the newest session files (``SessionsRead.newest``), as ``SessionFiles`` names it."""

    main: Path


def _missing_on_peers(
    client: SyncthingClient,
    folder: FolderConfig,
    projects: Path,
    sessions: tuple[_Newest, ...],
    peers: tuple[PeerFacts, ...],
) -> tuple[int, tuple[SessionCopyFacts, ...]]:
    """Which of this node's newest sessions each connected peer lacks, through the API."""
    targets = [p for p in peers if p.connected and p.shares_folder]
    mains: list[tuple[float, Path]] = []
    for item in sessions:
        with contextlib.suppress(OSError):
            mains.append((item.main.stat().st_mtime, item.main))
    mains.sort(reverse=True)
    now = time.time()

    def lacking(rel: str) -> list[PeerFacts]:
        info = client.file_info(folder.id, rel)
        have = set(info.availability) if info is not None else set()
        return [p for p in targets if p.device_id not in have]

    ages = {path.relative_to(projects).as_posix(): max(0.0, now - m) for m, path in mains}
    compared = list(ages)[:_MAX_COMPARED]
    missing = {rel: lacking(rel) for rel in compared} if targets else {}
    # A peer that has just (re)connected is absent from `availability` until its index arrives:
    # ~1 s after /rest/system/connections says connected on 1.29, at once on 1.19. Ask again
    # for a moment before an old session counts as lost; a real loss costs this wait once.
    deadline = time.monotonic() + _AVAILABILITY_SETTLE_S
    while time.monotonic() < deadline:
        suspect = [r for r, peers in missing.items() if peers and ages[r] >= SESSION_GRACE_S]
        if not suspect:
            break
        time.sleep(0.1)
        missing.update((rel, lacking(rel)) for rel in suspect)
    gaps = [
        SessionCopyFacts(rel, p.name or p.device_id[:7], ages[rel])
        for rel, peers in missing.items()
        for p in peers
    ]
    return len(compared), tuple(gaps)


def _folder_facts(client: SyncthingClient, folder: FolderConfig) -> FolderFacts:
    status = client.folder_status(folder.id)
    return FolderFacts(
        id=folder.id,
        path=folder.path,
        type=folder.type,
        watcher=folder.fs_watcher_enabled,
        watcher_delay_s=folder.fs_watcher_delay_s,
        paused=folder.paused,
        drift=tuple(sorted(folder_drift(folder.raw))),
        errors=status.errors,
        state_error=str(status.raw.get("error") or ""),
    )


def lease_engine(conn: Connection, projects: Path, folder: FolderConfig) -> LeaseEngine | None:
    if conn.client is None:
        return None
    return engine_for(SyncthingTransport(conn.client, projects, folder.id))


def _shortcuts(request: VerifyRequest) -> ShortcutFacts | None:
    try:
        shell = detect_shell(request.shell)
    except RoamError:
        return None
    path = rc_file(shell, request.user_home)
    try:
        installed = BEGIN_MARKER in path.read_text(encoding="utf-8")
    except OSError:
        installed = False
    return ShortcutFacts(
        shell=shell,
        rc_file=str(path),
        installed=installed,
        roam_on_path=shutil.which("roam"),
        this_roam=shutil.which("roam", path=str(Path(sys.executable).parent)),
    )


def _disk(projects: Path) -> DiskFacts | None:
    probe = projects
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError:
        return None
    return DiskFacts(usage.free, usage.total)


def _backups() -> tuple[BackupUsage | None, str]:
    """The backup store against its bound, or why it could not be measured."""
    try:
        return measure(), ""
    except RoamError as exc:
        return None, exc.message
    except OSError as exc:
        return None, f"{exc.strerror or exc.__class__.__name__}: {exc.filename}"


def _deletions(projects: Path) -> DeletionFacts:
    """Claude Code's clean-up setting here and what the archive could bring back."""
    try:
        days, error = cleanup_days(projects.parent), ""
    except RoamError as exc:
        days, error = None, exc.message
    lost = list_lost(projects)
    return DeletionFacts(
        cleanup_days=days,
        settings_error=error,
        lost=len(lost),
        lost_bytes=sum(item.bytes for item in lost),
    )


def _deleted_elsewhere(
    client: SyncthingClient, folder: FolderConfig, projects: Path, facts: DeletionFacts | None
) -> DeletionFacts | None:
    if facts is None or not projects.is_dir():
        return facts
    stones = tombstoned_sessions(projects)
    try:
        found = reassert(
            client, folder.id, projects, is_tombstoned=stones.__contains__, dry_run=True
        )
    except RoamError:
        return facts
    return replace(facts, deleted_elsewhere=len(found.announced))


def _watch(home: Path, *, live: bool) -> WatchFacts:
    service = watch_status(home)
    state = (
        "running" if service.running else "not running" if service.installed else "not installed"
    )
    return WatchFacts(state, service.running or live)


def _read_stignore(projects: Path) -> str | None:
    try:
        return (projects / STIGNORE).read_text(encoding="utf-8")
    except OSError:
        return None


def gather(request: VerifyRequest, *, publish_self: bool = True) -> Snapshot:
    """One snapshot of everything the checks read. Publishes this node's versions first
    (``publish_self``), so that peers can check skew against this machine."""
    projects = request.projects
    try:
        pathmap = load_pathmap(xdg.config_dir())
    except RoamError:
        pathmap = PathMap()
    walked: list[str] = []  # one walk: the sessions' and the synced-data check's links
    read = read_sessions(
        projects, pathmap, full=request.full, progress=request.progress, links=walked
    )
    summaries = read.summaries
    cwds = foreign_cwds(summaries, pathmap)
    suggestion = suggest_mapping(cwds, request.user_home)
    claude = claude_version()
    usage, backups_error = _backups()
    links, ignored_state = gather_synced_data(projects, walked)
    local = Snapshot(
        projects_dir=str(projects),
        service=ServiceFacts(False, None, False, False),
        stignore=_read_stignore(projects),
        template=template_text(),
        shortcuts=_shortcuts(request),
        namespaces=tuple(
            NamespaceFacts(project, session_id, title) for project, session_id, title in read.titles
        ),
        roam_version=__version__,
        claude_version=claude,
        foreign_cwds=cwds,
        path_suggestion=None if suggestion is None else suggestion.command,
        disk=_disk(projects),
        backups=usage,
        backups_error=backups_error,
        deletions=_deletions(projects),
        links=links,
        ignored_state=ignored_state,
        unreadable_records=tuple(
            f"{p.relative_to(projects).as_posix()} ({n})" for p, n in sorted(read.unread.items())
        ),
        sessions_coverage=read.coverage,
        walked_sessions=read.total if read.walked else 0,
        watch=_watch(request.user_home, live=not read.walked),
        odd_names=odd_project_names(projects),
        unreadable_files=tuple(
            f"{s.path.relative_to(projects).as_posix()} ({s.unreadable})"
            for s in summaries
            if s.unreadable
        ),
    )
    pending = read.pending
    with connect(request) as conn:
        facts = conn.facts
        client = conn.client
        if client is None:
            return replace(
                local,
                service=facts,
                skipped=facts.error or "Syncthing could not be asked",
                conflicts=tuple(
                    ConflictFacts(p.session_id, p.project_dir.name, len(p.conflict_copies), True)
                    for p in pending
                ),
            )
        folder = find_roam_folder(client, projects)
        names = cluster_names(client, projects)
        peers = _peers(client, folder, facts.device_id, names)
        snap = replace(
            local,
            service=facts,
            peers=peers,
            names=names,
            pending=pending_devices(client),
            offered=pending_folders(client),
        )
        if folder is None:
            return replace(
                snap,
                skipped=f"Syncthing does not share {projects}",
                conflicts=tuple(
                    ConflictFacts(p.session_id, p.project_dir.name, len(p.conflict_copies), True)
                    for p in pending
                ),
            )
        newest = tuple(_Newest(path) for path in read.newest)  # from the one walk's cache
        checked, missing = _missing_on_peers(client, folder, projects, newest, peers)
        engine = lease_engine(conn, projects, folder)
        leases, lease_error = None, ""
        leased: dict[str, bool] = {}
        if engine is not None:
            try:
                leases = tuple(lease_api.status(engine=engine))
                leased = {
                    p.session_id: lease_api.is_live(p.session_id, engine=engine) for p in pending
                }
            except RoamError as exc:
                lease_error = exc.message
        if publish_self:
            # a planted link on the way is refused; the synced-data check names it
            with contextlib.suppress(LinkRefused):
                publish(
                    projects,
                    device_id=facts.device_id,
                    name=facts.device_name,
                    syncthing_version=facts.version,
                    claude=claude,
                    folder_devices=folder.device_ids,
                    policy=deletion_policy(folder.raw, projects.parent),
                )
        return replace(
            snap,
            deletions=_deleted_elsewhere(client, folder, projects, local.deletions),
            folder=_folder_facts(client, folder),
            sessions_checked=checked,
            sessions_total=read.total,
            sessions_missing=missing,
            conflicts=tuple(
                ConflictFacts(
                    p.session_id,
                    p.project_dir.name,
                    len(p.conflict_copies),
                    leased.get(p.session_id, True),
                )
                for p in pending
            ),
            leases=leases,
            lease_error=lease_error,
            nodes=read_nodes(projects),
        )
