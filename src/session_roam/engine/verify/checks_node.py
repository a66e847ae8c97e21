"""The checks of this machine and the cluster's agreements: shortcuts, namespaces, leases,
versions, clocks, paths, disk and the backup store's bound."""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from typing import TYPE_CHECKING

from session_roam.engine.lease.rule import DEFAULT_RULE, LeaseRule, allows_provisional
from session_roam.engine.lease.setup import configured_rule
from session_roam.engine.verify.base import (
    AGENT_PREFIX,
    DISK_FAIL_BYTES,
    DISK_WARN_BYTES,
    listed,
    ok,
    unchecked,
)
from session_roam.engine.verify.checks_mesh import check_mesh
from session_roam.engine.verify.model import Finding, Status
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from session_roam.engine.syncthing.nodeinfo import PeerNodeInfo
    from session_roam.engine.verify.model import PeerFacts, Snapshot

__all__ = [
    "check_backups",
    "check_disk",
    "check_leases",
    "check_namespaces",
    "check_paths",
    "check_shortcuts",
    "check_versions",
]


def check_shortcuts(snap: Snapshot) -> list[Finding]:
    s = snap.shortcuts
    if s is None:
        return unchecked("shortcuts", snap)
    if not s.installed:
        return [
            Finding(  # optional: roam works without them, so this is advice, never a failure
                "shortcuts",
                Status.ADVICE,
                f"The shortcuts (cr, cs, cf, cn, cfork, crf) are not in {s.rc_file}.",
                fix=f"roam shell install --shell {s.shell}",
            )
        ]
    if s.roam_on_path is None:
        where = os.path.dirname(s.this_roam or sys.executable)
        return [
            Finding(
                "shortcuts",
                Status.WARN,  # installed but broken; roam itself still works
                "The shortcuts call `roam`, which is not on PATH.",
                fix=f'export PATH="{where}:$PATH"',
            )
        ]
    if s.this_roam is not None and os.path.realpath(s.roam_on_path) != os.path.realpath(
        s.this_roam
    ):
        return [
            Finding(
                "shortcuts",
                Status.WARN,
                f"The shortcuts run {s.roam_on_path}, not this roam ({s.this_roam}).",
                fix=f'export PATH="{os.path.dirname(s.this_roam)}:$PATH"',
            )
        ]
    return ok("shortcuts", f"The shortcuts are installed in {s.rc_file} and run this roam.")


def _owner(title: str) -> str:
    """``agent:<name>/...`` belongs to agent <name>; every other title to a person."""
    if title.startswith(AGENT_PREFIX):
        return title[len(AGENT_PREFIX) :].split("/", 1)[0]
    return ""


def check_namespaces(snap: Snapshot) -> list[Finding]:
    owners: dict[str, set[str]] = defaultdict(set)
    for item in snap.namespaces:
        owners[item.project].add(_owner(item.title))
    found: list[Finding] = []
    for item in snap.namespaces:
        mine = _owner(item.title)
        others = owners[item.project] - {mine}
        if not mine or not others:
            continue
        whose = "a person's" if "" in others else f"agent {sorted(others)[0]}'s"
        found.append(
            Finding(
                "namespaces",
                Status.FAIL,
                f"Agent session {item.title!r} ({item.session_id}) was started in {whose} "
                f"namespace {item.project}.",
                fix=f"cd <{mine}'s own folder> && roam cn {item.title}",
                subject=item.session_id,
            )
        )
    return found or ok("namespaces", "Every agent session is in its own agent's namespace.")


def check_leases(snap: Snapshot) -> list[Finding]:
    if snap.leases is None:
        reason = snap.lease_error or snap.skipped
        return [Finding("leases", Status.WARN, f"Not checked: {reason}."), *check_mesh(snap)]
    known = {p.device_id for p in snap.peers} | {snap.service.device_id}
    found: list[Finding] = []
    held: dict[str, list[str]] = defaultdict(list)
    for v in snap.leases:
        who = v.name or v.device[:7]
        if v.error:
            found.append(
                Finding(
                    "leases",
                    Status.FAIL,
                    f"The lease claim of {who} on session {v.session} cannot be read ({v.error}).",
                    fix=f"roam lease steal {v.session}",
                    subject=v.session,
                )
            )
            continue
        if v.state == "released" or v.superseded_by is not None:
            continue
        if v.live and v.state == "held":
            held[v.session].append(who)
        if v.is_self and not v.live:
            found.append(
                Finding(
                    "leases",
                    Status.FAIL,
                    f"This machine claims session {v.session}, but no roam here holds it "
                    "(orphaned claim).",
                    fix=f"roam lease release {v.session}",
                    subject=v.session,
                )
            )
        elif not v.is_self and v.device not in known:
            found.append(
                Finding(
                    "leases",
                    Status.FAIL,
                    f"Session {v.session} is claimed by {who}, which is not a peer any more "
                    "(orphaned claim).",
                    fix=f"roam lease steal {v.session}",
                    subject=v.session,
                )
            )
        elif not v.is_self and v.expired:
            found.append(
                Finding(
                    "leases",
                    Status.WARN,
                    f"{who}'s claim on session {v.session} has not been renewed for "
                    f"{v.age_s:.0f} s.",
                    fix=f"roam lease steal {v.session}",
                    subject=v.session,
                )
            )
    for session, holders in sorted(held.items()):
        if len(holders) > 1:
            found.append(
                Finding(
                    "leases",
                    Status.FAIL,
                    f"Session {session} is held by {len(holders)} machines at once: "
                    f"{', '.join(holders)}.",
                    fix=f"roam lease status {session}",
                    subject=session,
                )
            )
    found.extend(check_mesh(snap))  # the lease is only safe in a full mesh
    try:
        rule = configured_rule()
    except InvalidInput as exc:
        found.append(Finding("leases", Status.FAIL, exc.message, fix=exc.hint))
        rule = DEFAULT_RULE
    live = sum(1 for v in snap.leases if v.live)
    summary = f"No orphaned or doubly held claims ({live} live){_two(snap, rule)}."
    return found or ok("leases", summary)


def _two(snap: Snapshot, rule: LeaseRule) -> str:
    """What one writer means here: with two devices, only while they see each other (issue 20)."""
    if not allows_provisional(rule, 1 + sum(1 for p in snap.peers if p.shares_folder)):
        return ""
    return (
        "; two machines and no third: while they cannot see each other, a machine continues a "
        "session the other released cleanly, and copies written apart are merged when they "
        'meet (a third always-on Syncthing, or lease_rule = "majority", makes one writer strict)'
    )


def _minor(version: str) -> str:
    parts = version.lstrip("v").split(".")
    return ".".join(parts[:2])


def check_versions(snap: Snapshot) -> list[Finding]:
    if not snap.service.reachable:
        return unchecked("versions", snap)
    found: list[Finding] = []
    for peer in snap.peers:
        if peer.untrusted:
            continue  # an always-on node runs plain Syncthing: it publishes no roam versions
        node = snap.nodes.get(peer.device_id)
        who = snap.name_of(peer.device_id)
        if node is None or node.info is None:
            found.append(_unpublished(peer, who, node))
            continue
        info = node.info
        if info.roam_version != snap.roam_version:
            found.append(
                Finding(
                    "versions",
                    Status.FAIL,
                    f"{who} runs roam {info.roam_version}, this machine {snap.roam_version}.",
                    fix="pipx upgrade session-roam   # on the older one, then `roam verify` there",
                    subject=peer.device_id,
                )
            )
        mine, theirs = _minor(snap.service.version), _minor(info.syncthing_version)
        if mine and theirs and mine.split(".")[0] != theirs.split(".")[0]:
            status = Status.FAIL
        else:
            status = Status.WARN if mine != theirs else Status.OK
        if status is not Status.OK:
            found.append(
                Finding(
                    "versions",
                    status,
                    f"{who} runs Syncthing {info.syncthing_version}, this machine "
                    f"{snap.service.version}.",
                    fix="sudo apt-get install --only-upgrade syncthing   # on the older one",
                    subject=peer.device_id,
                )
            )
        if (
            info.claude_version
            and snap.claude_version
            and info.claude_version != snap.claude_version
        ):
            found.append(
                Finding(
                    "versions",
                    Status.WARN,
                    f"{who} runs Claude Code {info.claude_version}, this machine "
                    f"{snap.claude_version}.",
                    fix="npm install -g @anthropic-ai/claude-code@"
                    + max(info.claude_version, snap.claude_version),
                    subject=peer.device_id,
                )
            )
    return found or ok(
        "versions", f"roam {snap.roam_version} and matching Syncthing on every peer."
    )


def _unpublished(peer: PeerFacts, who: str, node: PeerNodeInfo | None) -> Finding:
    """No node file from a peer (no roam run there since pairing, or not arrived yet) is info,
    and so is one Syncthing is still downloading; an unreadable one warns."""
    if node is not None and node.error:
        return Finding(
            "versions",
            Status.WARN,
            f"{who}'s versions cannot be read ({node.error}).",
            fix=f"roam verify   # on {who}: writes its node file again",
            subject=peer.device_id,
        )
    if node is not None and node.arriving:
        return Finding(
            "versions",
            Status.INFO,
            f"{who}'s node file is arriving (Syncthing is still downloading it), so its roam "
            "versions are not known yet.",
            fix="roam verify   # again in a moment",
            subject=peer.device_id,
        )
    state = "" if peer.connected else " (it is not connected)"
    return Finding(
        "versions",
        Status.INFO,
        f"No roam versions from {who} yet{state}: it has not run roam since it paired, or its "
        "node file has not arrived.",
        fix=f"roam setup   # on {who}, if roam has never run there",
        subject=peer.device_id,
    )


def check_paths(snap: Snapshot) -> list[Finding]:
    if not snap.foreign_cwds:
        return ok("paths", "Every session's folder exists here or is mapped.")
    if snap.path_suggestion is not None:
        return [
            Finding(
                "paths",
                Status.FAIL,
                f"Sessions recorded under {listed(list(snap.foreign_cwds))} have no folder or "
                "mapping here, so `roam cr` cannot find them.",
                fix=snap.path_suggestion,
            )
        ]
    return [
        Finding(
            "paths",
            Status.WARN,
            f"Sessions recorded under {listed(list(snap.foreign_cwds))} have no folder here.",
            fix="roam paths map FROM TO",
        )
    ]


def check_disk(snap: Snapshot) -> list[Finding]:
    d = snap.disk
    if d is None:
        return unchecked("disk", snap)
    free_mib = d.free_bytes // (1024 * 1024)
    if d.free_bytes < DISK_FAIL_BYTES:
        return [
            Finding(
                "disk",
                Status.FAIL,
                f"Only {free_mib} MiB free: Syncthing stops pulling below its minimum.",
                fix=f"du -sh {snap.projects_dir}/* | sort -h   # then free space on this disk",
            )
        ]
    if d.free_bytes < DISK_WARN_BYTES:
        return [
            Finding("disk", Status.WARN, f"Only {free_mib} MiB free below the projects folder.")
        ]
    return ok("disk", f"{free_mib // 1024} GiB free.")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def check_backups(snap: Snapshot) -> list[Finding]:
    """The backup store against its bound: beyond it is advice (a warning), never a failure,
    because what is kept is the user's data and pruning it is their call."""
    usage = snap.backups
    if usage is None:
        reason = snap.backups_error or "the backup store could not be read"
        return [Finding("backups", Status.WARN, f"Not checked: {reason}.", fix="roam backups")]
    bound = usage.bound
    limits = (
        f"kept {bound.keep_days:g} days, at most {bound.max_days:g} days and {bound.max_mb:g} MB"
    )
    found: list[Finding] = []
    if usage.beyond:
        found.append(
            Finding(
                "backups",
                Status.WARN,
                f"{len(usage.beyond)} backup(s) ({_mib(usage.beyond_bytes)}) are beyond the "
                f"bound ({limits}).",
                fix="roam backups --prune",
            )
        )
    if usage.over_size:
        found.append(
            Finding(
                "backups",
                Status.WARN,
                f"Backups younger than {bound.keep_days:g} days use {_mib(usage.kept_bytes)}, "
                f"over the {bound.max_mb:g} MB bound; they are kept so their merges can be "
                "undone.",
                fix=f"roam backups --prune --keep-days {bound.keep_days / 2:g}"
                "   # or raise max_mb under [backups] in config.toml",
            )
        )
    oldest = "" if usage.oldest_days is None else f", the oldest {usage.oldest_days:.0f} days old"
    return found or ok(
        "backups",
        f"Backups use {_mib(usage.total_bytes)} in {usage.backups} backup(s){oldest}; "
        f"within the bound ({limits}).",
    )
