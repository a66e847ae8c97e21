"""Do the peers' clocks agree with this one? Judged from their node files (``nodeinfo``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from session_roam.engine.verify.base import CLOCK_FAIL_S, CLOCK_WARN_S, ok, unchecked
from session_roam.engine.verify.model import Finding, Status

if TYPE_CHECKING:
    from session_roam.engine.verify.model import PeerFacts, Snapshot

__all__ = ["check_clock"]


#: A node file that arrived this soon after its peer connected may have been written before:
#: it waited for the connection, so it says nothing of that peer's clock.
_WITH_THE_CONNECTION_S: Final = 30.0


def _held_back(offset: float, arrived: float, peer: PeerFacts) -> bool:
    """Does the sample look behind only because its file waited for the connection?

    A node file carries its peer's clock when written and is judged against when it arrived
    here; one written while the two were apart (just paired, a lid closed) arrives when they
    connect, and the peer then looks behind by the time they were apart. Until it writes its
    node file again, such a sample is not judged (a clock ahead is never explained so)."""
    since = peer.connected_since
    return offset < 0 and since is not None and arrived - since < _WITH_THE_CONNECTION_S


def check_clock(snap: Snapshot) -> list[Finding]:
    if not snap.service.reachable:
        return unchecked("clock", snap)
    found: list[Finding] = []
    for peer in snap.peers:
        node = snap.nodes.get(peer.device_id)
        offset = None if node is None else node.clock_offset_s
        if offset is None or (node is not None and _held_back(offset, node.arrived, peer)):
            continue
        who = snap.name_of(peer.device_id)
        size = abs(offset)
        if size >= CLOCK_WARN_S:
            ahead = "ahead of" if offset > 0 else "behind"
            found.append(
                Finding(
                    "clock",
                    Status.FAIL if size >= CLOCK_FAIL_S else Status.WARN,
                    f"{who}'s clock is about {size:.0f} s {ahead} this machine's.",
                    fix="timedatectl set-ntp true   # on the machine whose clock is wrong",
                    subject=peer.device_id,
                )
            )
    return found or ok("clock", f"Peers' clocks agree with this one within {CLOCK_WARN_S:g} s.")
