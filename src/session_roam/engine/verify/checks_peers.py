"""The peers check: who is paired, connected, in sync, and who is knocking to pair."""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.syncthing.pending import accept_command
from session_roam.engine.verify.base import ok, unchecked
from session_roam.engine.verify.model import Finding, Status

if TYPE_CHECKING:
    from session_roam.engine.verify.model import PeerFacts, Snapshot

__all__ = ["check_peers"]


def _knocking(snap: Snapshot) -> list[Finding]:
    """Machines asking to pair, and the sessions folder offered but not shared back: a person
    acts on these, so they warn, with the one command that accepts."""
    found = [
        Finding(
            "peers",
            Status.WARN,
            f"{knock.describe()}; it is not a peer yet.",
            fix=accept_command(knock.device_id),
            subject=knock.device_id,
        )
        for knock in snap.pending
    ]
    mine = snap.folder.id if snap.folder is not None else None
    for offer in snap.offered:
        who = snap.name_of(offer.device_id)
        if offer.folder_id == mine:
            message = (
                f"{who} shares the sessions folder with this machine, which does not share it back."
            )
            found.append(
                Finding(
                    "peers",
                    Status.WARN,
                    message,
                    accept_command(offer.device_id),
                    subject=offer.device_id,
                )
            )
        else:
            found.append(
                Finding(
                    "peers",
                    Status.INFO,
                    f"{who} offers folder {offer.folder_id!r}, which is not roam's sessions folder "
                    "here; roam leaves it alone.",
                    subject=offer.device_id,
                )
            )
    return found


def _not_connected(snap: Snapshot, peer: PeerFacts) -> Finding:
    """A peer that is off, unreachable, or has not paired back: this machine cannot tell which,
    so the hint says how to find out on the other machine."""
    who = snap.name_of(peer.device_id)
    me = snap.service.device_id
    short = "" if who == peer.device_id[:7] else f" ({peer.device_id[:7]})"
    return Finding(
        "peers",
        Status.WARN,
        f"Peer {who}{short} is not connected: it is off, cannot be reached, or "
        "has not paired with this machine yet.",
        fix=f"roam status   # on {who}: if it lists this machine as asking to pair, run "
        f"{accept_command(me) if me else 'the roam peers accept line it prints'} there",
        subject=peer.device_id,
    )


def check_peers(snap: Snapshot) -> list[Finding]:
    if not snap.service.reachable:
        return unchecked("peers", snap)
    knocking = _knocking(snap)
    if not snap.peers:
        return [
            *knocking,
            Finding(
                "peers",
                Status.WARN,
                "No peers: sessions stay on this machine.",
                "roam pair   # prints the line to run on the other machine",
            ),
        ]
    found: list[Finding] = knocking
    for p in snap.peers:
        who = f"{snap.name_of(p.device_id)} ({p.device_id[:7]})"
        if p.paused:
            found.append(
                Finding(
                    "peers",
                    Status.FAIL,
                    f"Peer {who} is paused here.",
                    f"syncthing cli --home={snap.service.config_home} config devices "
                    f"{p.device_id} paused set false",
                    subject=p.device_id,
                )
            )
        elif not p.connected:
            found.append(_not_connected(snap, p))
        elif snap.folder is not None and not p.shares_folder:
            found.append(
                Finding(
                    "peers",
                    Status.FAIL,
                    f"Peer {who} is connected but not sharing the sessions folder.",
                    fix=f"roam peers add {p.device_id}",
                    subject=p.device_id,
                )
            )
        elif p.need_items:
            found.append(
                Finding(
                    "peers",
                    Status.WARN,
                    f"Peer {who} still needs {p.need_items} items ({p.completion:.0f}% complete).",
                    fix="roam status",
                    subject=p.device_id,
                )
            )
    connected = sum(1 for p in snap.peers if p.connected)
    return found or ok("peers", f"{connected} of {len(snap.peers)} peers connected and in sync.")
