"""The lease protocol as plain generators, so that roam and the simulation run the same steps.

A flow yields what it needs done: ``Read()`` (answer: the claim views this node sees now),
``Publish(claim, wait)`` (write our own claim, have Syncthing scan it and, with ``wait``, block
until every peer has it: the barrier), ``Sleep(seconds)``. The driver (``lease_engine`` for real
Syncthing, the simulation for a model of it) answers and enforces deadlines by throwing
``SyncTimeout`` into the flow, which then withdraws its claim.

The acquisition is Lamport's bakery over Syncthing (docs/design/lease.md has the proof),
after a fast path: publish ``claiming`` with ``1 + max(visible tickets)`` at once, one barrier,
read, and win only if no other live claim exists in any state (lose at once to a holder, an
unreadable claim or an absent machine's claim; otherwise go on with step 1):

1. publish ``choosing`` and wait until every peer has it (the doorway flag);
2. read, take ``ticket = 1 + max(visible tickets)``, publish ``claiming`` with it, barrier;
3. read and ``decide``: lose to a live claim ordered before ours, wait while a peer is choosing,
   otherwise win and publish ``held``.

With machines off (``absent``; allowed only when the rest are a majority of the folder's devices)
the barrier covers only the connected peers, so a plain local read may miss a claim that reached
a majority without us. Then every read in the comparison loop is a quorum read: republish our
claim with the barrier (which also pulls whatever the peers announced before confirming it),
then read. See docs/design/lease.md, "When a machine is off".
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from session_roam.engine.lease.bakery import Verdict, decide
from session_roam.engine.lease.model import (
    Claim,
    ClaimState,
    ClaimView,
    live_views,
    next_ticket,
    order_key,
)
from session_roam.errors import PeerUnreachable, SyncTimeout

__all__ = [
    "DEFAULT_POLL_S",
    "QUEUED_FAST_POLLS",
    "QUEUED_QUORUM_POLL_S",
    "QUEUED_SLOW_POLL_S",
    "WAIT_FROM_DOORWAY",
    "Flow",
    "Lost",
    "Publish",
    "Queued",
    "Read",
    "Sleep",
    "Step",
    "Won",
    "acquire_flow",
    "overtaken_by",
    "steal_flow",
]

#: How often a claimant re-reads while a peer is still choosing its ticket.
DEFAULT_POLL_S: Final = 0.05
#: How often a claimant queued behind a holder looks again while a machine is off (each look
#: is then a quorum read, a barrier: a claim rewritten a few times a second for hours is churn).
QUEUED_QUORUM_POLL_S: Final = 1.0
#: A queued claimant looks every ``poll_s`` for this many looks (the holder is often about to
#: finish), then every ``QUEUED_SLOW_POLL_S`` (20 looks a second cost ~5 % of a core here).
QUEUED_FAST_POLLS: Final = 200
QUEUED_SLOW_POLL_S: Final = 0.2
#: A waiting claimant joins the queue from the doorway (never with its fast ticket). Only the
#: simulation's negative control turns it off.
WAIT_FROM_DOORWAY: Final = True


@dataclass(frozen=True, slots=True)
class Read:
    """Answer with ``list[ClaimView]``: every claim file of the session this node has now."""


@dataclass(frozen=True, slots=True)
class Publish:
    """Write our own claim file and scan it; with ``wait``, block until every peer announced it."""

    claim: Claim
    wait: bool = True


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Queued:
    """Said once, answered with nothing: a waiting claimant now queues behind ``blocker``."""

    blocker: ClaimView | None


Step = Read | Publish | Sleep | Queued


@dataclass(frozen=True, slots=True)
class Won:
    claim: Claim


@dataclass(frozen=True, slots=True)
class Lost:
    """We withdrew; ``blocker`` is the claim that is ahead of us (the holder, or next in line).

    ``offline``: the blocker's machine is not connected and never released the session.
    """

    claim: Claim
    blocker: ClaimView
    offline: bool = False


Flow = Generator[Step, Any, Won | Lost]


def _own(views: Sequence[ClaimView], device: str) -> Claim | None:
    for view in views:
        if view.device == device and view.claim is not None:
            return view.claim
    return None


def acquire_flow(
    base: Claim,
    *,
    poll_s: float = DEFAULT_POLL_S,
    absent: frozenset[str] = frozenset(),
    wait: bool = False,
) -> Flow:
    """Run the bakery for ``base.session`` as ``base.device``; ``base`` carries the metadata.

    ``absent``: the machines sharing the folder that are not connected (degraded mode). Their
    unreleased claims make us lose, and every comparison read is a quorum read.

    ``wait`` (``roam cr --wait``): instead of losing to a connected holder or to a claim ahead
    of ours, queue behind it, as Lamport's bakery does, and win once it has released. The
    queue is only ever joined from the doorway, with a ticket taken after it: a fast ticket
    has no doorway behind it, so waiting on one could grant twice (docs/design/lease.md,
    "Waiting for the holder"). ``Queued`` is yielded once, when the wait begins.

    Whatever happens after the first publish (a loss, a timeout thrown in by the driver, an
    interrupt), the flow leaves its claim ``released`` so it never blocks anyone.
    """
    views: list[ClaimView] = yield Read()
    previous = _own(views, base.device)
    claim = replace(
        base,
        state=ClaimState.CHOOSING,
        ticket=0,
        counter=0 if previous is None else previous.counter + 1,
        release=None if previous is None else previous.release,  # the last stamp stays on record
        # A steal we made stays on record: it kills the victim's claims below its ticket only,
        # so it can never silence a claim the victim makes later.
        stolen_from=base.stolen_from if previous is None else previous.stolen_from,
        stolen_below=base.stolen_below if previous is None else previous.stolen_below,
    )
    try:
        # The fast path (docs/design/lease.md, "One barrier when nobody else wants it"): claim
        # with a ticket at once, one barrier, and win only if no other live claim exists at all.
        claim = replace(claim, state=ClaimState.CLAIMING, ticket=_ticket(views, previous))
        yield Publish(claim, wait=True)
        views = yield Read()
        decision = decide(claim, views, absent=absent)
        if decision.verdict is Verdict.WIN and alone(claim, views):
            claim = claim.bump(state=ClaimState.HELD)
            yield Publish(claim, wait=False)
            return Won(claim)
        final = decision.verdict is Verdict.LOSE and _final(decision.blocker, decision.offline)
        if final and not (wait and _queueable(decision.blocker, decision.offline)):
            return (yield from _withdraw(claim, decision.blocker, offline=decision.offline))
        if WAIT_FROM_DOORWAY or not final:
            # Someone else is at the counter, or we queue: withdraw the fast ticket and run
            # the whole bakery from its doorway.
            previous, claim = claim, claim.bump(state=ClaimState.CHOOSING, ticket=0)
            yield Publish(claim, wait=True)
            views = yield Read()
            ticket = _ticket(views, previous)
            claim = claim.bump(state=ClaimState.CLAIMING, ticket=ticket)
            yield Publish(claim, wait=True)
        # Readers expire a claim that has not changed for its TTL, and a claimant that looked
        # expired while still in the race could win next to the node that ignored it. So the
        # claim is rewritten every TTL/3 of waiting (the driver bounds each barrier to TTL/3).
        refresh_after = max(1, int(claim.ttl_s / 3 / poll_s)) * poll_s
        polls = 0
        quiet = 0.0  # seconds slept since our claim was last written
        queued = recheck = False
        since = 0  # the poll at which we queued
        while True:
            if (absent and polls) or recheck:
                # A quorum read: the barrier's peers confirm our new version only after sending
                # us everything they had before it, so the read below misses no finished write.
                claim, quiet = claim.bump(), 0.0
                yield Publish(claim, wait=True)
            views = yield Read()
            decision = decide(claim, views, absent=absent)
            if decision.verdict is Verdict.WIN:
                if queued and not recheck and _expired_in_the_way(claim, views):
                    # A holder whose renewals stopped arriving during a long wait may be cut
                    # off, not gone: believe the expiry only after a barrier (a quorum read).
                    recheck = True
                    continue
                claim = claim.bump(state=ClaimState.HELD)
                yield Publish(claim, wait=False)
                return Won(claim)
            recheck = False
            if decision.verdict is Verdict.LOSE:
                if not (wait and _queueable(decision.blocker, decision.offline)):
                    return (yield from _withdraw(claim, decision.blocker, offline=decision.offline))
                if not queued:  # behind a holder, or a claim ahead of ours: wait our turn
                    queued, since = True, polls
                    yield Queued(decision.blocker)
            polls += 1
            if not absent and quiet >= refresh_after - 1e-9:
                claim, quiet = claim.bump(), 0.0
                yield Publish(claim, wait=False)
            pause = _queued_poll(poll_s, polls - since if queued else 0, absent=bool(absent))
            quiet += pause
            yield Sleep(pause)
    except GeneratorExit:
        raise
    except BaseException:
        yield Publish(claim.bump(state=ClaimState.RELEASED), wait=False)
        raise


def _ticket(views: Sequence[ClaimView], previous: Claim | None) -> int:
    """One above every ticket visible, and above our own previous one (which we overwrite)."""
    return max(next_ticket(views), 1 if previous is None else previous.ticket + 1)


def alone(mine: Claim, views: Sequence[ClaimView]) -> bool:
    """No live claim but ours, in any state: the fast path's only way to win.

    Not "no claim ahead of ours": a fast ticket was taken without a doorway, so it says nothing
    about who came first (the simulation's control shows that rule granting twice).
    """
    return not any(v.device != mine.device for v in live_views(views))


def _queued_poll(poll_s: float, looks: int, *, absent: bool) -> float:
    """How long a claimant sleeps before its next look, ``looks`` after it queued (0: not
    queued)."""
    if looks and absent:
        return max(poll_s, QUEUED_QUORUM_POLL_S)
    if looks > QUEUED_FAST_POLLS:
        return max(poll_s, QUEUED_SLOW_POLL_S)
    return poll_s


def _queueable(blocker: ClaimView | None, offline: bool) -> bool:
    """Can a waiting claimant queue behind this? Not a machine that is off (it cannot release
    while off), nor a claim that cannot be read (it never expires: the wait would not end)."""
    return not offline and blocker is not None and blocker.claim is not None


def _expired_in_the_way(mine: Claim, views: Sequence[ClaimView]) -> bool:
    """Another machine's claim that counts as gone only because it stopped changing here."""
    return any(
        v.device != mine.device
        and v.claim is not None
        and v.claim.active
        and v.expired
        and v.superseded_by is None
        for v in views
    )


def _final(blocker: ClaimView | None, offline: bool) -> bool:
    """A loss the whole bakery would repeat: a holder, an unreadable claim, an absent machine."""
    return (
        offline
        or blocker is None
        or blocker.claim is None
        or blocker.claim.state is ClaimState.HELD
    )


def _withdraw(claim: Claim, blocker: ClaimView | None, *, offline: bool) -> Flow:
    assert blocker is not None  # noqa: S101 - decide() always names it
    claim = claim.bump(state=ClaimState.RELEASED)
    # Wait until peers know we withdrew: a stale claim of ours would make the next race lose
    # to a ticket nobody is using. If they are slow, the answer stands.
    with contextlib.suppress(SyncTimeout, PeerUnreachable):
        yield Publish(claim, wait=True)
    return Lost(claim, blocker, offline=offline)


def steal_flow(base: Claim) -> Flow:
    """Take the session over from whoever holds it, on purpose and on the record.

    The new claim is ``released`` (it wants nothing itself) with a ticket above everything
    visible, and names the holder in ``stolen_from``/``stolen_below``: every reader then treats
    the holder's current claim as dead (``live_views``), the holder's renew loop sees that it was
    overtaken, and this node's next acquisition wins the ordinary way. ``Lost`` carries the
    victim when there was one; ``Won`` means nobody held the session.
    """
    views: list[ClaimView] = yield Read()
    others = [v for v in live_views(views) if v.device != base.device]
    ticket = next_ticket(views)
    previous = _own(views, base.device)
    claim = replace(
        base,
        state=ClaimState.RELEASED,
        ticket=ticket,
        counter=0 if previous is None else previous.counter + 1,
        release=None if previous is None else previous.release,
    )
    if not others:
        yield Publish(claim, wait=True)
        return Won(claim)
    held = [v for v in others if v.claim is not None and v.claim.state is ClaimState.HELD]
    victim = min(held or others, key=lambda v: order_key(v.claim) if v.claim else (0, v.device))
    claim = replace(claim, stolen_from=victim.device, stolen_below=ticket)
    yield Publish(claim, wait=True)
    return Lost(claim, victim)


def overtaken_by(mine: Claim, views: Sequence[ClaimView]) -> ClaimView | None:
    """The live claim that stole this session from us, if any (the renew loop checks this)."""
    for view in views:
        claim = view.claim
        if (
            claim is not None
            and view.device != mine.device
            and claim.stolen_from == mine.device
            and claim.stolen_below > mine.ticket
        ):
            return view
    return None
