"""``roam status``: is this machine's sync healthy, and is anything waiting for the user?

One snapshot of what a person checks before walking to another machine: Syncthing up (and
which version), roam's folder state, each peer's connection and what it still needs from us,
the last change received, conflict copies waiting to be merged, and a warning when the GUI/API
is reachable from the network.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.lease.bakery import has_majority
from session_roam.engine.lease.rule import DEFAULT_RULE, LeaseRule, allows_provisional
from session_roam.engine.lease.setup import configured_rule
from session_roam.engine.resume.awareness import LIST_WAIT_S, await_cluster
from session_roam.engine.sessions.session_scan import scan_sessions
from session_roam.engine.sessions.summary_cache import open_cache
from session_roam.engine.setup.watch_service import WatchService, service_state, watch_status
from session_roam.engine.syncthing.config import is_default_home
from session_roam.engine.syncthing.local import find_roam_folder
from session_roam.engine.syncthing.names import cluster_names, display_name
from session_roam.engine.syncthing.pending import (
    PendingDevice,
    PendingFolder,
    accept_command,
    pending_devices,
    pending_folders,
)
from session_roam.engine.syncthing.service import Autostart, autostart
from session_roam.errors import RoamError, SetupError, SyncthingError

if TYPE_CHECKING:
    from session_roam.engine.resume.awareness import Awareness
    from session_roam.engine.syncthing.local import LocalSyncthing
    from session_roam.engine.syncthing.models import FolderConfig

__all__ = [
    "CONFLICT_MARK",
    "FolderReport",
    "LeaseReach",
    "PeerReport",
    "StatusReport",
    "collect_status",
    "count_conflicts",
    "offer_text",
]

CONFLICT_MARK: Final = ".sync-conflict-"


@dataclass(frozen=True, slots=True)
class PeerReport:
    device_id: str
    name: str
    connected: bool
    paused: bool
    address: str
    need_items: int
    need_bytes: int
    need_deletes: int

    @property
    def in_sync(self) -> bool:
        # need_deletes never clears: peers ignore deletions by design (Completion.in_sync)
        return self.need_items == 0 and self.need_bytes == 0


@dataclass(frozen=True, slots=True)
class FolderReport:
    id: str
    path: str
    state: str
    local_files: int
    global_files: int
    need_items: int
    errors: int
    last_change: str | None
    last_change_file: str | None


@dataclass(frozen=True, slots=True)
class LeaseReach:
    """Whether this machine can take a session's lease right now, by the majority rule.

    ``devices`` and ``reachable`` count this machine; an always-on node counts like any other.
    """

    devices: int
    reachable: int
    rule: LeaseRule = DEFAULT_RULE

    @property
    def majority(self) -> bool:
        return has_majority(self.devices, self.reachable)

    @property
    def provisional(self) -> bool:
        """Two devices under the ``released`` rule: one writer is not guaranteed while apart."""
        return allows_provisional(self.rule, self.devices)

    def describe(self) -> str:
        two = (
            "; with two machines, a third always-on Syncthing makes one writer strict"
            if self.provisional
            else ""
        )
        if self.reachable == self.devices:
            return f"all {self.devices} machines sharing the folder are reachable{two}"
        if self.majority:
            return (
                f"{self.reachable} of {self.devices} machines reachable, a majority: a session "
                "can be taken if each missing machine released it cleanly"
            )
        if self.provisional:
            return (
                f"{self.reachable} of {self.devices} machines reachable, not a majority: a "
                "session continues here only if the other machine released it cleanly and its "
                f"last turn is here (provisional){two}"
            )
        return (
            f"{self.reachable} of {self.devices} machines reachable, not a majority: taking a "
            "session refuses until more connect (or --force)"
        )


@dataclass(frozen=True, slots=True)
class StatusReport:
    version: str
    device_id: str
    gui_url: str
    gui_on_loopback: bool
    projects_dir: str
    folder: FolderReport | None
    peers: tuple[PeerReport, ...]
    conflicts: int
    warnings: tuple[str, ...]
    #: The `roam watch` service: running, installed or not installed.
    watch: str = "not installed"
    leases: LeaseReach | None = None
    #: Whether Syncthing comes back after a reboot, and how (``stservice.autostart``).
    autostart: Autostart | None = None
    #: Whether each peer's index has arrived since it connected (engine.awareness).
    cluster: Awareness | None = None
    #: The Syncthing home in use, and the `roam watch` service's installed/enabled/running.
    home: str = ""
    watch_service: WatchService | None = None
    #: Machines asking to pair with this one, and folders peers offer that it does not share.
    pending: tuple[PendingDevice, ...] = ()
    offered: tuple[PendingFolder, ...] = ()
    #: This machine's one display name (``syncthing.names``).
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        """A stable document for ``--json``; field names never change meaning."""
        return {
            "syncthing": {
                "version": self.version,
                "device_id": self.device_id,
                "name": self.name,
                "gui_url": self.gui_url,
                "gui_on_loopback": self.gui_on_loopback,
                "home": self.home,
            },
            "projects_dir": self.projects_dir,
            "folder": None
            if self.folder is None
            else {
                "id": self.folder.id,
                "path": self.folder.path,
                "state": self.folder.state,
                "local_files": self.folder.local_files,
                "global_files": self.folder.global_files,
                "need_items": self.folder.need_items,
                "errors": self.folder.errors,
                "last_change": self.folder.last_change,
                "last_change_file": self.folder.last_change_file,
            },
            "peers": [
                {
                    "device_id": p.device_id,
                    "name": p.name,
                    "connected": p.connected,
                    "paused": p.paused,
                    "address": p.address,
                    "need_items": p.need_items,
                    "need_bytes": p.need_bytes,
                    "need_deletes": p.need_deletes,
                    "in_sync": p.in_sync,
                }
                for p in self.peers
            ],
            "conflicts": self.conflicts,
            "watch": self.watch,
            "leases": None
            if self.leases is None
            else {
                "devices": self.leases.devices,
                "reachable": self.leases.reachable,
                "majority": self.leases.majority,
                "rule": self.leases.rule.value,
                "provisional": self.leases.provisional,
            },
            "autostart": None
            if self.autostart is None
            else {
                "survives_reboot": self.autostart.survives_reboot,
                "how": self.autostart.how,
                "fix": self.autostart.fix,
                "kind": self.autostart.kind,
                "by_roam": self.autostart.by_roam,
            },
            "watch_service": None if self.watch_service is None else self.watch_service.to_json(),
            "cluster": None if self.cluster is None else self.cluster.to_json(),
            "pending_devices": [
                {
                    "device_id": d.device_id,
                    "name": d.name,
                    "address": d.address,
                    "since": d.since,
                    "accept": accept_command(d.device_id),
                }
                for d in self.pending
            ],
            "pending_folders": [
                {
                    "folder_id": f.folder_id,
                    "label": f.label,
                    "device_id": f.device_id,
                    "since": f.since,
                }
                for f in self.offered
            ],
            "warnings": list(self.warnings),
        }


def count_conflicts(projects_dir: Path) -> int:
    """The sessions' conflict copies under the projects dir, those ``roam conflicts list``
    shows (its versioning archive and temp files excluded): from the summary cache while a
    live ``roam watch`` keeps it current, else from one stat walk (``session_scan``)."""
    try:
        try:
            with open_cache() as cache:
                return cache.conflict_copies(projects_dir)
        except (sqlite3.Error, OSError, SetupError):  # no cache to use here: walk
            return sum(item.conflict_copies for item in scan_sessions(str(projects_dir)))
    except RoamError:  # a folder it cannot read: `roam verify` says which; status goes on
        return 0


def collect_status(local: LocalSyncthing, projects_dir: Path) -> StatusReport:
    client = local.client
    my_id = client.my_id()
    warnings: list[str] = []
    if not local.config.gui_on_loopback:
        warnings.append(
            f"Syncthing's GUI/API listens on {local.config.gui_address}, reachable from other "
            "machines; set it to 127.0.0.1:8384 unless you need remote access."
        )
    folder_config = find_roam_folder(client, projects_dir)
    folder: FolderReport | None = None
    if folder_config is None:
        warnings.append(f"Syncthing does not share {projects_dir}; run `roam setup`.")
    else:
        status = client.folder_status(folder_config.id)
        last, last_file = _last_change(local, folder_config.id)
        folder = FolderReport(
            id=folder_config.id,
            path=folder_config.path,
            state="paused" if folder_config.paused else status.state,
            local_files=status.local_files,
            global_files=status.global_files,
            need_items=status.need_items,
            errors=status.errors,
            last_change=last,
            last_change_file=last_file,
        )
    connections = client.connections()
    peers = []
    names = cluster_names(client, projects_dir)
    shared = set(folder_config.device_ids) if folder_config else set()
    for device in client.devices():
        if device.device_id == my_id:
            continue
        connection = connections.get(device.device_id)
        need = (
            client.completion(folder_config.id, device.device_id)
            if folder_config is not None and device.device_id in shared
            else None
        )
        peers.append(
            PeerReport(
                device_id=device.device_id,
                name=display_name(names, device.device_id),
                connected=bool(connection and connection.connected),
                paused=device.paused,
                address=connection.address if connection and connection.connected else "",
                need_items=need.need_items if need else 0,
                need_bytes=need.need_bytes if need else 0,
                need_deletes=need.need_deletes if need else 0,
            )
        )
    leases = None
    if folder_config is not None:
        reachable = 1 + sum(1 for p in peers if p.connected and p.device_id in shared)
        leases = LeaseReach(
            devices=len(shared | {my_id}), reachable=reachable, rule=configured_rule()
        )
    pending = pending_devices(client)
    for knock in pending:
        warnings.append(f"{knock.describe()}; to accept: {accept_command(knock.device_id)}")
    offered = pending_folders(client)
    warnings += [offer_text(o, display_name(names, o.device_id), folder_config) for o in offered]
    if folder_config is not None and not peers and not pending:
        warnings.append(
            "No peers yet: run `roam pair` and the line it prints on the other machine."
        )
    cluster = None
    if folder_config is not None:
        cluster = await_cluster(
            client,
            folder_config.id,
            projects_dir,
            scope=None,
            timeout_s=LIST_WAIT_S,
            on_wait=lambda _what: None,
        )
        if (notice := cluster.notice()) is not None:
            warnings.append(notice)
    conflicts = count_conflicts(projects_dir) if projects_dir.is_dir() else 0
    if conflicts:
        warnings.append(f"{conflicts} conflict copies are waiting: run `roam conflicts list`.")
    return StatusReport(
        version=str(local.version),
        device_id=my_id,
        gui_url=local.config.base_url,
        gui_on_loopback=local.config.gui_on_loopback,
        projects_dir=str(projects_dir),
        folder=folder,
        peers=tuple(peers),
        conflicts=conflicts,
        warnings=tuple(warnings),
        watch=service_state(Path.home()),
        watch_service=watch_status(Path.home()),
        home=str(local.config.home),
        leases=leases,
        autostart=autostart(local.config.home, is_default=is_default_home(local.config.home)),
        cluster=cluster,
        pending=pending,
        offered=offered,
        name=display_name(names, my_id),
    )


def offer_text(offer: PendingFolder, who: str, folder: FolderConfig | None) -> str:
    """A folder a peer shares with this machine that it does not share back, and what to do."""
    named = f"{offer.folder_id!r}" + (f" ({offer.label!r})" if offer.label else "")
    if folder is not None and offer.folder_id == folder.id:
        return (
            f"{who} shares the sessions folder {named} with this machine, which does not share "
            f"it back; to accept: {accept_command(offer.device_id)}"
        )
    mine = f" (here it is {folder.id!r})" if folder is not None else ""
    return (
        f"{who} offers folder {named}, which is not roam's sessions folder{mine}; roam leaves "
        "it alone, Syncthing's GUI can accept it"
    )


def _last_change(local: LocalSyncthing, folder_id: str) -> tuple[str | None, str | None]:
    """The last file this node pulled from a peer (``/rest/stats/folder``), if any."""
    try:
        stats = local.client.folder_stats()
    except SyncthingError:
        return None, None
    entry = stats.get(folder_id) or {}
    last = entry.get("lastFile") or {}
    name = last.get("filename") or None
    at = last.get("at") or None
    if not name or (isinstance(at, str) and at.startswith("0001-")):
        return None, None
    return (str(at) if at else None), str(name)
