"""The checks of what Syncthing does: service, API, folder, peers, sessions, ignores, conflicts."""

from __future__ import annotations

import os
from collections import defaultdict
from typing import TYPE_CHECKING

from session_roam.engine.syncthing.config import gui_is_loopback
from session_roam.engine.verify.base import (
    SESSION_GRACE_S,
    WATCHER_DELAY_MAX_S,
    listed,
    ok,
    unchecked,
)
from session_roam.engine.verify.ignore import ignored_must_sync, missing_patterns
from session_roam.engine.verify.model import Finding, Status

if TYPE_CHECKING:
    from session_roam.engine.verify.model import ConflictFacts, Snapshot

__all__ = [
    "check_api",
    "check_conflicts",
    "check_folder",
    "check_ignore",
    "check_service",
    "check_sessions",
]


def check_service(snap: Snapshot) -> list[Finding]:
    s = snap.service
    if not s.installed:
        return [
            Finding(
                "service",
                Status.FAIL,
                "Syncthing is not installed on this machine.",
                fix="sudo apt-get install syncthing",
            )
        ]
    if s.config_home is None:
        return [
            Finding(
                "service", Status.FAIL, f"Syncthing has no config here ({s.error}).", "roam setup"
            )
        ]
    if s.foreign:
        return [
            Finding(
                "service",
                Status.FAIL,
                f"Syncthing here is not running: {s.error}, not the one in {s.config_home} "
                "(another user's?).",
                fix="roam setup --gui-address 127.0.0.1:PORT --listen tcp://0.0.0.0:PORT",
            )
        ]
    if s.reachable or s.key_rejected:
        where = f" ({s.instance})" if s.instance else ""
        return ok("service", f"Syncthing {s.version or ''} is running{where}.".replace("  ", " "))
    return [
        Finding(
            "service",
            Status.FAIL,
            f"Syncthing is not running ({s.error}).",
            fix="roam verify --fix" if s.supervised else "roam setup",
            auto=s.supervised,
        )
    ]


def check_api(snap: Snapshot) -> list[Finding]:
    s = snap.service
    found: list[Finding] = []
    if s.key_rejected:
        found.append(
            Finding(
                "api",
                Status.FAIL,
                "Syncthing refused the API key roam used.",
                fix="unset STGUIAPIKEY",
            )
        )
    elif not s.reachable:
        return unchecked("api", snap)
    exposed = [
        a for a in (s.config_gui_address, s.running_gui_address) if a and not gui_is_loopback(a)
    ]
    if exposed:
        found.append(
            Finding(
                "api",
                Status.FAIL,
                f"Syncthing's GUI/API listens on {exposed[0]}, reachable from other machines.",
                fix=f"syncthing cli --home={s.config_home} config gui raw-address set "
                "127.0.0.1:8384",
            )
        )
    return found or ok("api", "The API answers, accepts roam's key and listens on loopback only.")


def check_folder(snap: Snapshot) -> list[Finding]:
    if not snap.service.reachable:
        return unchecked("folder", snap)
    f = snap.folder
    if f is None:
        return [
            Finding(
                "folder",
                Status.FAIL,
                f"Syncthing does not share {snap.projects_dir}.",
                fix="roam setup",
            )
        ]
    found: list[Finding] = []
    if f.state_error:  # the folder or its marker vanished: a plain rescan would delete on peers
        found.append(
            Finding(
                "folder",
                Status.FAIL,
                f"Syncthing stopped folder {f.id!r} ({f.state_error}); the peers still hold "
                "its sessions.",
                "roam setup   # brings them back from the peers before sharing again",
            )
        )
    if f.paused:
        found.append(Finding("folder", Status.FAIL, f"Folder {f.id!r} is paused.", "roam setup"))
    if f.type != "sendreceive":
        found.append(
            Finding(
                "folder",
                Status.FAIL,
                f"Folder {f.id!r} is {f.type}, so changes here or there do not travel both ways.",
                "roam setup",
            )
        )
    if not f.watcher:
        found.append(
            Finding(
                "folder",
                Status.FAIL,
                f"Folder {f.id!r} has the file watcher off: changes wait for the next full scan.",
                "roam setup",
            )
        )
    elif f.watcher_delay_s > WATCHER_DELAY_MAX_S:
        found.append(
            Finding(
                "folder",
                Status.WARN,
                f"Folder {f.id!r} waits {f.watcher_delay_s:g} s before sending a change; two "
                "machines writing within that time conflict.",
                "roam setup",
            )
        )
    other = [d for d in f.drift if d not in ("type", "fsWatcherEnabled", "fsWatcherDelayS")]
    if other:
        found.append(
            Finding(
                "folder",
                Status.WARN,
                f"Folder {f.id!r} differs from roam's settings in {', '.join(sorted(other))}.",
                "roam setup",
            )
        )
    if f.errors:
        found.append(
            Finding(
                "folder",
                Status.WARN,
                f"Syncthing reports {f.errors} file errors in folder {f.id!r}.",
                "roam status",
            )
        )
    return found or ok("folder", f"Folder {f.id!r} shares {f.path}, send-receive, watched.")


def check_sessions(snap: Snapshot) -> list[Finding]:
    if not snap.service.reachable or snap.folder is None:
        return unchecked("sessions", snap)
    found: list[Finding] = []
    by_peer: dict[str, list[str]] = defaultdict(list)
    late: dict[str, list[str]] = defaultdict(list)
    for gap in snap.sessions_missing:
        (by_peer if gap.age_s >= SESSION_GRACE_S else late)[gap.peer].append(gap.path)
    for peer, paths in sorted(by_peer.items()):
        found.append(
            Finding(
                "sessions",
                Status.FAIL,
                f"{len(paths)} of this machine's sessions are not on {peer}: {listed(paths)}.",
                fix=f"roam verify   # on {peer}: its .stignore or folder errors keep them out",
                subject=peer,
            )
        )
    for peer, paths in sorted(late.items()):
        found.append(
            Finding(
                "sessions",
                Status.WARN,
                f"{len(paths)} sessions written in the last {SESSION_GRACE_S:g} s have not "
                f"reached {peer} yet.",
                fix="roam status",
                subject=peer,
            )
        )
    unconnected = [snap.name_of(p.device_id) for p in snap.peers if not p.connected]
    if unconnected:
        found.append(
            Finding(
                "sessions",
                Status.WARN,
                f"Sessions were not compared with {listed(unconnected)} (not connected).",
            )
        )
    peers = sum(1 for p in snap.peers if p.connected)
    return found or ok("sessions", _coverage(snap, peers))


def _coverage(snap: Snapshot, peers: int) -> str:
    """Say what was counted: every session, or the newest N of how many."""
    checked, total = snap.sessions_checked, max(snap.sessions_total, snap.sessions_checked)
    if total == 0:
        return f"No sessions here yet to compare with the connected peers ({peers})."
    if checked == total:
        return f"All {checked:,} sessions here are on every connected peer ({peers})."
    return (
        f"The newest {checked:,} of the {total:,} sessions here are on every connected peer "
        f"({peers}); the older ones were not compared."
    )


def check_ignore(snap: Snapshot) -> list[Finding]:
    if snap.stignore is None:
        return [
            Finding(
                "ignore",
                Status.FAIL,
                "There is no .stignore: caches, worktrees and temp files sync too.",
                fix="roam verify --fix",
                auto=True,
            )
        ]
    found: list[Finding] = []
    missing = missing_patterns(snap.stignore, snap.template)
    if missing:
        found.append(
            Finding(
                "ignore",
                Status.FAIL,
                f".stignore lacks {len(missing)} of roam's patterns: {listed(list(missing))}.",
                fix="roam verify --fix",
                auto=True,
            )
        )
    blocked = ignored_must_sync(snap.stignore)
    if blocked:
        found.append(
            Finding(
                "ignore",
                Status.FAIL,
                f".stignore keeps files from syncing that must sync: {listed(list(blocked))}.",
                fix=f"$EDITOR {os.path.join(snap.projects_dir, '.stignore')}",
            )
        )
    return found or ok("ignore", ".stignore has roam's patterns and lets sessions sync.")


def _conflict_text(c: ConflictFacts) -> str:
    """A session with copies, or one whose file two machines wrote after a take-over."""
    if c.copies:
        what = f"Session {c.session_id} has {c.copies} conflict copies"
    else:
        what = (
            f"Session {c.session_id} holds turns of two machines that parted after a take-over, "
            "not yet on one timeline"
        )
    return what + (" and is being written on another machine." if c.leased else ".")


def check_conflicts(snap: Snapshot) -> list[Finding]:
    found = [
        Finding(
            "conflicts",
            Status.FAIL,
            _conflict_text(c),
            fix=f"roam conflicts merge {c.session_id}",
            auto=not c.leased,
            subject=f"{c.project}/{c.session_id}",
        )
        for c in snap.conflicts
    ]
    return found or ok("conflicts", "No conflict copies are waiting.")
