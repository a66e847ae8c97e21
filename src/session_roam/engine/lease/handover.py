"""What people are told when a session changes hands without a majority (issue 20).

``lease_rule.provisional`` decides; this module words the outcome: the one line per absent
machine that says why the grant stands ("alpha (SRVQLDF) is offline; it released this session
at 14:02"), the refusal when the released bytes are not here, and how a claim's machine and
times are shown. Times are a claim's ``since``, shown in local time; no decision reads them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from session_roam.errors import PeerUnreachable

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from session_roam.engine.lease.engine import Peer
    from session_roam.engine.lease.model import ClaimView, ReleaseStamp
    from session_roam.engine.lease.rule import Provisional

__all__ = ["bytes_missing", "dead_holder_notes", "handover_notes", "holder_label", "when"]


def holder_label(view: ClaimView) -> str:
    """How people see a claim's machine: its name and short device id, "alpha (SRVQLDF)"."""
    claim = view.claim
    if claim is None:
        return view.device[:7]
    return f"{claim.name or claim.host or view.device[:7]} ({view.device[:7]})"


def when(iso: str) -> str:
    """A claim's ``since`` as people read it: local time, with the date unless it is today."""
    try:
        moment = dt.datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return iso
    if moment.date() == dt.datetime.now().astimezone().date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def _at(view: ClaimView) -> str:
    claim = view.claim
    return f" at {when(claim.since)}" if claim is not None and claim.since else ""


def bytes_missing(
    session: str, stamp: ReleaseStamp, released_by: ClaimView, have: ReleaseStamp | None
) -> PeerUnreachable:
    """The refusal when the newest release's bytes are not here and nobody can send them."""
    who = holder_label(released_by)
    return PeerUnreachable(
        f"{who} released session {session}{_at(released_by)} with {stamp.size} bytes, but this "
        f"machine has {0 if have is None else have.size} bytes of it: its last turn has not "
        f"arrived, and {who} is not connected to send it.",
        hint=f"Bring {who} online so Syncthing can deliver it, or run `roam cr --force "
        f"{session}` to continue the copy here (its turns are merged in when it returns).",
    )


def handover_notes(
    verdict: Provisional, peers: Sequence[Peer], absent: Collection[str]
) -> tuple[str, ...]:
    """One line per absent machine: when it released the session, or that it never took it."""
    said = {v.device for v in verdict.released}
    notes = [
        f"{holder_label(v)} is offline; it released this session{_at(v)}" for v in verdict.released
    ]
    notes += [
        f"{p.name or p.device_id[:7]} ({p.device_id[:7]}) is offline and never took this session"
        for p in peers
        if p.device_id in absent and p.device_id not in said
    ]
    return tuple(notes)


def dead_holder_notes(
    views: Sequence[ClaimView], *, locked_here: str | None = None
) -> tuple[str, ...]:
    """One line per claim an acquisition is about to clear because its holder is gone (a
    ``kill -9``, a crash): which machine held it, since when, and why it no longer counts.

    ``locked_here``: this machine's device id once the caller holds its local lock of the
    session. An active claim of ours then belongs to a roam that is gone (it held that lock
    while it lived), though the view cannot say so: the lock it probes is now ours.
    """
    notes: list[str] = []
    for view in views:
        claim = view.claim
        if claim is None or not claim.active or view.superseded_by is not None:
            continue
        if view.local_dead or view.device == locked_here:
            why = "its roam process on this machine is gone"
        elif view.expired:
            why = f"it was not renewed for {view.age_s:.0f} s, so its process is gone"
        else:
            continue
        pid = f", pid {claim.pid}" if claim.pid else ""
        notes.append(f"Cleared the lease {holder_label(view)}{pid} held{_at(view)}: {why}.")
    return tuple(notes)
