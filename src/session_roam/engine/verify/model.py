"""The data ``roam verify`` works on: a snapshot of the facts, and the findings drawn from it.

Gathering (``verify_gather``) does all the I/O once; the checks (``verify_checks``) are pure
functions of the snapshot, so each one is tested with a hand-made snapshot and the real-cluster
tests only need to prove that the gathering sees what a broken cluster looks like.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from session_roam.engine.core.backup_bound import BackupUsage
    from session_roam.engine.lease.api import LeaseView
    from session_roam.engine.syncthing.nodeinfo import PeerNodeInfo
    from session_roam.engine.syncthing.pending import PendingDevice, PendingFolder

__all__ = [
    "DIMENSIONS",
    "SCHEMA",
    "ConflictFacts",
    "DeletionFacts",
    "DiskFacts",
    "Finding",
    "FixAction",
    "FolderFacts",
    "NamespaceFacts",
    "PeerFacts",
    "ServiceFacts",
    "SessionCopyFacts",
    "ShortcutFacts",
    "Snapshot",
    "Status",
    "VerifyReport",
    "WatchFacts",
]

SCHEMA: Final = "roam.verify/1"

#: Every dimension, in the order people read them (the seed's nine first, then the new ones).
DIMENSIONS: Final = (
    "service",
    "api",
    "folder",
    "peers",
    "sessions",
    "ignore",
    "conflicts",
    "shortcuts",
    "namespaces",
    "leases",
    "versions",
    "clock",
    "paths",
    "disk",
    "encryption",
    "backups",
    "deletions",
    "synced-data",
    "watch",
)


class Status(enum.StrEnum):
    """How much a finding matters (docs/cli.md, "roam verify"); only ``FAIL`` exits 7.

    ``INFO``: a fact worth knowing that needs nothing here (a peer that has not run roam yet);
    ``ADVICE``: an optional part that is not set up (the shell shortcuts), with its command;
    ``WARN``: something to look at that does not stop sessions syncing now (a peer that is off,
    a machine asking to pair); ``FAIL``: something that loses or blocks sessions until fixed.
    """

    OK = "ok"
    INFO = "info"
    ADVICE = "advice"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return ("ok", "info", "advice", "warn", "fail").index(self.value)


@dataclass(frozen=True, slots=True)
class Finding:
    """One sentence about one dimension, and the exact command that fixes it (None: nothing to
    do). ``auto`` marks the fixes ``--fix`` applies itself because they cannot lose data."""

    dimension: str
    status: Status
    message: str
    fix: str | None = None
    auto: bool = False
    subject: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "status": self.status.value,
            "message": self.message,
            "fix": self.fix,
            "auto_fix": self.auto,
            "subject": self.subject,
        }


@dataclass(frozen=True, slots=True)
class FixAction:
    """What ``--fix`` did (or tried) for one finding."""

    dimension: str
    action: str
    detail: str
    ok: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "action": self.action,
            "detail": self.detail,
            "ok": self.ok,
        }


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """Syncthing on this machine. ``error`` says why it could not be asked anything."""

    installed: bool
    config_home: str | None
    reachable: bool
    key_rejected: bool
    version: str = ""
    error: str = ""
    supervised: bool = False
    config_gui_address: str = ""
    running_gui_address: str = ""
    device_id: str = ""
    device_name: str = ""
    #: Another Syncthing (not this home's) answers at this home's GUI address.
    foreign: bool = False
    #: Which instance and how it is kept running, one line (``supervision.describe``).
    instance: str = ""


@dataclass(frozen=True, slots=True)
class FolderFacts:
    id: str
    path: str
    type: str
    watcher: bool
    watcher_delay_s: float
    paused: bool
    drift: tuple[str, ...]
    errors: int
    #: Why Syncthing stopped the folder ("folder path missing"); "" while it runs.
    state_error: str = ""


@dataclass(frozen=True, slots=True)
class PeerFacts:
    device_id: str
    name: str
    connected: bool
    paused: bool
    shares_folder: bool
    need_items: int
    completion: float
    #: Syncthing's "untrusted" mark, and whether the folder lists this device with an
    #: encryption password (never the password itself).
    untrusted: bool = False
    encrypted: bool = False
    #: When the current connection to it started (seconds since the epoch, this clock).
    connected_since: float | None = None


@dataclass(frozen=True, slots=True)
class SessionCopyFacts:
    """A session file of this node that a connected peer does not hold (yet)."""

    path: str
    peer: str
    age_s: float


@dataclass(frozen=True, slots=True)
class ConflictFacts:
    session_id: str
    project: str
    copies: int
    leased: bool


@dataclass(frozen=True, slots=True)
class ShortcutFacts:
    shell: str
    rc_file: str
    installed: bool
    roam_on_path: str | None
    this_roam: str | None


@dataclass(frozen=True, slots=True)
class NamespaceFacts:
    """A titled session and the project folder (namespace) it was started in."""

    project: str
    session_id: str
    title: str


@dataclass(frozen=True, slots=True)
class DiskFacts:
    free_bytes: int
    total_bytes: int


@dataclass(frozen=True, slots=True)
class DeletionFacts:
    """The deletion policy on this node (docs/design/deletions.md).

    ``cleanup_days`` is Claude Code's ``cleanupPeriodDays`` here (None: unset, so 30);
    ``lost`` the sessions this node lost that its archive holds.
    """

    cleanup_days: int | None
    settings_error: str = ""
    lost: int = 0
    lost_bytes: int = 0
    #: Files held here that another machine deleted (``engine.reassert`` would give them back).
    deleted_elsewhere: int = 0


@dataclass(frozen=True, slots=True)
class WatchFacts:
    """This machine's `roam watch`: its login service (``running``, ``not running`` or ``not
    installed``), and whether a watch runs at all (that service, or a live one started by hand
    that keeps roam's caches current)."""

    service: str
    running: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the checks read. A ``None`` field was not gathered; ``skipped`` says why."""

    projects_dir: str
    service: ServiceFacts
    folder: FolderFacts | None = None
    peers: tuple[PeerFacts, ...] = ()
    sessions_checked: int = 0
    #: Every session file here; ``sessions_checked`` of them (the newest) were compared.
    sessions_total: int = 0
    sessions_missing: tuple[SessionCopyFacts, ...] = ()
    stignore: str | None = None
    template: str = ""
    conflicts: tuple[ConflictFacts, ...] = ()
    shortcuts: ShortcutFacts | None = None
    namespaces: tuple[NamespaceFacts, ...] = ()
    leases: tuple[LeaseView, ...] | None = None
    lease_error: str = ""
    nodes: dict[str, PeerNodeInfo] = field(default_factory=dict)
    roam_version: str = ""
    claude_version: str = ""
    foreign_cwds: tuple[str, ...] = ()
    path_suggestion: str | None = None
    disk: DiskFacts | None = None
    backups: BackupUsage | None = None
    backups_error: str = ""
    deletions: DeletionFacts | None = None
    links: tuple[str, ...] = ()  # symlinks in the synced folder, folder-relative (safefs)
    ignored_state: tuple[str, ...] = ()  # peers' state files that failed their schema
    unreadable_records: tuple[str, ...] = ()  # session files with records over the caps
    unreadable_files: tuple[str, ...] = ()  # session files that cannot be opened here
    odd_names: tuple[str, ...] = ()  # project folders whose names are not UTF-8 (shown escaped)
    sessions_coverage: str = ""  # how many session files verify read ("checked 4 changed + …")
    #: Sessions verify had to stat one by one because no live ``roam watch`` kept roam's
    #: caches current (0 when one did): what ``ls``, ``cf`` and verify each walk first.
    walked_sessions: int = 0
    watch: WatchFacts | None = None
    skipped: str = ""
    #: Machines asking to pair, folders peers offer that this machine does not share back.
    pending: tuple[PendingDevice, ...] = ()
    offered: tuple[PendingFolder, ...] = ()
    #: One display name per device, this machine's included (``syncthing.names``).
    names: dict[str, str] = field(default_factory=dict)

    def name_of(self, device_id: str) -> str:
        """The machine's one display name (the peer's own name when ``names`` lacks it)."""
        if found := self.names.get(device_id):
            return found
        node = self.nodes.get(device_id)
        own = self.service.device_name if device_id == self.service.device_id else ""
        peer = next((p.name for p in self.peers if p.device_id == device_id and p.name), "")
        return (node.info.name if node and node.info else "") or peer or own or device_id[:7]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The findings after any fixes, and the fixes that were applied."""

    findings: tuple[Finding, ...]
    fixes: tuple[FixAction, ...] = ()
    fixed: bool = False

    def status_of(self, dimension: str) -> Status:
        found = [f.status for f in self.findings if f.dimension == dimension]
        return max(found, key=lambda s: s.rank, default=Status.OK)

    @property
    def failed(self) -> bool:
        return any(f.status is Status.FAIL for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` document (schema ``roam.verify/1``; fields never change
        meaning, new ones may be added)."""
        counts = {s.value: sum(1 for f in self.findings if f.status is s) for s in Status}
        return {
            "schema": SCHEMA,
            "ok": not self.failed,
            "summary": counts,
            "dimensions": {d: self.status_of(d).value for d in DIMENSIONS},
            "findings": [f.to_json() for f in self.findings],
            "fixed": self.fixed,
            "fixes": [a.to_json() for a in self.fixes],
        }
