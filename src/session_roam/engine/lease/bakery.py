"""The bakery's comparison: from one snapshot of the claims, win, lose or wait.

Pure, like ``lease.model``: the protocol (``lease.protocol``) and the simulation both decide
with ``decide``, so what the simulation proves is what roam runs. ``has_majority`` is the
quorum rule the engine applies before it decides (docs/design/lease.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from session_roam.engine.lease.model import ClaimState, live_views, order_key, resolve_steals

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from session_roam.engine.lease.model import Claim, ClaimView

__all__ = ["Decision", "Verdict", "decide", "has_majority"]


class Verdict(enum.Enum):
    WIN = "win"
    LOSE = "lose"
    WAIT = "wait"


@dataclass(frozen=True, slots=True)
class Decision:
    """What a claimant does next. ``blocker`` is the claim it lost to or waits for.

    ``offline`` says the blocker is a machine that is not connected now: no renewal can tell us
    whether it is still writing, and its last turn may never have left it.
    """

    verdict: Verdict
    blocker: ClaimView | None = None
    waiting_for: tuple[str, ...] = ()
    offline: bool = False


def has_majority(devices: int, reachable: int) -> bool:
    """Are ``reachable`` of the folder's ``devices`` (this node counted in both) more than half?

    Two such sets always share a device, and that shared device is what carries one side's claim
    to the other when some machine is off (docs/design/lease.md, "When a machine is off").
    """
    return 2 * reachable > devices


def decide(
    mine: Claim, views: Sequence[ClaimView], *, absent: Collection[str] = frozenset()
) -> Decision:
    """The bakery's comparison loop, run on one snapshot of the claims this node can see.

    Lose to any live claim ordered before ours, and to any unreadable claim (fail closed); wait
    while a live peer is still choosing; otherwise win. The lowest ticket never loses, so a race
    among connected nodes always has exactly one winner.

    ``absent`` are the machines sharing the folder that are not connected now. Their claims
    cannot expire in our favour: a machine that went off, or away, without a clean release may
    still be writing, or may hold the session's last turn. So any claim of theirs that is not
    ``released`` (expired or not, readable or not) makes us lose, unless a steal overrode it.
    """
    for view in resolve_steals(views):
        gone = view.device in absent and view.device != mine.device
        unreleased = view.claim is None or view.claim.active
        if gone and unreleased and view.superseded_by is None:
            return Decision(Verdict.LOSE, view, offline=True)
    others = [v for v in live_views(views) if v.device != mine.device]
    for view in others:
        if view.claim is None:
            return Decision(Verdict.LOSE, view)
    held = [v for v in others if v.claim is not None and v.claim.state is ClaimState.HELD]
    if held:
        return Decision(Verdict.LOSE, min(held, key=lambda v: order_key(_claim(v))))
    ahead = [
        v
        for v in others
        if v.claim is not None
        and v.claim.state is not ClaimState.CHOOSING
        and order_key(v.claim) < order_key(mine)
    ]
    if ahead:
        return Decision(Verdict.LOSE, min(ahead, key=lambda v: order_key(_claim(v))))
    choosing = tuple(
        v.device for v in others if v.claim is not None and v.claim.state is ClaimState.CHOOSING
    )
    if choosing:
        return Decision(Verdict.WAIT, waiting_for=choosing)
    return Decision(Verdict.WIN)


def _claim(view: ClaimView) -> Claim:
    assert view.claim is not None  # noqa: S101 - callers filtered out unreadable claims
    return view.claim
