"""Runs the lease flows against a transport: the seam between the protocol and Syncthing.

``LeaseTransport`` is everything the protocol needs from the world (read claim files, write our
own, publish with a barrier, list peers). ``SyncthingTransport`` implements it with the REST
client; unit tests use an in-memory fake. ``LeaseEngine`` adds what a real reader has: its own
monotonic clock, observations that survive the process (so a fresh ``roam`` can judge expiry),
and this machine's local lock, so a claim left behind by a dead ``roam`` here is dead at once
(both kept in ``lease.local``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from session_roam.engine.core.boot import boot_id
from session_roam.engine.lease.bakery import has_majority
from session_roam.engine.lease.local import LocalLocks, ObservationStore
from session_roam.engine.lease.model import Claim, ClaimView, live_views, make_view
from session_roam.engine.lease.protocol import Flow, Lost, Publish, Queued, Read, Sleep, Won
from session_roam.engine.lease.rule import DEFAULT_RULE, LeaseRule, allows_provisional
from session_roam.errors import PeerUnreachable, SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "LEASES_DIR",
    "LeaseEngine",
    "LeaseTransport",
    "Peer",
    "Quorum",
]

log = logging.getLogger(__name__)

#: Claims live at ``<projects>/.roam/leases/<session>/<device>.json`` (synced).
LEASES_DIR: Final = Path(".roam") / "leases"


@dataclass(frozen=True, slots=True)
class Peer:
    device_id: str
    name: str
    connected: bool


@dataclass(frozen=True, slots=True)
class Quorum:
    """Whom an acquisition waits for, whom it goes past, and whom it must account for.

    ``forced``: peers a ``--force`` run goes past (recorded in the claim). ``absent``: peers that
    are off while the rest are a majority (degraded mode): not waited for, but their claims
    must be cleanly released (``lease_model.decide``). ``provisional``: the absent ones are not
    a minority; the grant also needs their clean release and its bytes here (``lease_rule``).
    """

    wait_for: list[str]
    forced: tuple[str, ...] = ()
    absent: frozenset[str] = frozenset()
    provisional: bool = False


class LeaseTransport(Protocol):
    """What the protocol needs from Syncthing and the disk. One node's view of the cluster."""

    @property
    def device_id(self) -> str: ...

    def device_name(self) -> str: ...

    def peers(self) -> Sequence[Peer]:
        """Every other device the projects folder is shared with, and whether it is connected."""
        ...

    def sessions(self) -> list[str]:
        """Session ids that have a claim folder here."""
        ...

    def read_claims(self, session: str) -> dict[str, bytes]:
        """Device id -> raw bytes of each claim file of ``session`` on this node's disk."""
        ...

    def write_claim(self, claim: Claim) -> None:
        """Atomically replace this node's own claim file (never another node's)."""
        ...

    def publish(
        self,
        claim: Claim,
        *,
        wait_for: Sequence[str] | Callable[[], Sequence[str]],
        timeout_s: float,
        extra: Sequence[str] = (),
        pull: bool = False,
    ) -> None:
        """Have Syncthing scan ``extra`` (folder-relative), then our claim, at once.

        Then, for each device in ``wait_for``, block until it announced our claim's new version
        (SyncTimeout after ``timeout_s``; PeerUnreachable when one disconnects meanwhile).
        ``wait_for`` may be a function that names them, which a transport may call once the
        scan is asked for (while the peers already receive the claim), never later. With
        ``pull``, then also until this node has every version of the session's claim files that
        those peers announced (they announced them before ours, on the same connection).
        """
        ...


class LeaseEngine:
    """A node's lease machinery: the transport plus this reader's clock and memory."""

    def __init__(
        self,
        transport: LeaseTransport,
        *,
        observations: ObservationStore | None = None,
        locks: LocalLocks | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        boot: str | None = None,
        rule: LeaseRule = DEFAULT_RULE,
    ) -> None:
        self.transport = transport
        self.rule = rule
        self.observations = observations or ObservationStore(None)
        self.locks = locks or LocalLocks(None)
        self.clock = clock
        self.sleep = sleep
        self.boot = boot_id() if boot is None else boot

    def close(self) -> None:
        """Let go of the transport's connection (a SyncthingTransport holds an httpx client)."""
        closer = getattr(self.transport, "close", None)
        if callable(closer):
            closer()

    def __enter__(self) -> LeaseEngine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def device_id(self) -> str:
        return self.transport.device_id

    def views(self, session: str) -> list[ClaimView]:
        """Every claim of ``session`` as this node judges it now (and remember what we saw)."""
        raws = self.transport.read_claims(session)
        now = self.clock()
        result = []
        for device, raw in sorted(raws.items()):
            view, observation = make_view(
                raw,
                session=session,
                device=device,
                previous=self.observations.get(session, device),
                now=now,
                boot=self.boot,
            )
            self.observations.put(session, device, observation)
            if (
                device == self.device_id
                and view.claim is not None
                and view.claim.active
                and not self.locks.owner_alive(session)
            ):
                view = _replace_view(view, local_dead=True)
            result.append(view)
        self.observations.forget_except(session, list(raws))
        self.observations.save()
        return result

    def quorum(self, *, force: bool, session: str | None = None, warn: bool = True) -> Quorum:
        """Decide whom an acquisition of ``session`` waits for, or refuse (PeerUnreachable).

        Every peer connected: wait for all of them. Some off, but this machine and its connected
        peers are a majority of the folder's devices: wait for those, and treat the rest as
        ``absent``. Fewer than a majority: refuse, unless ``force`` goes past them, or two
        devices share the folder and the rule is ``released`` (the default): then the quorum is
        ``provisional`` and the caller checks ``lease_rule.provisional`` before the flow.

        With ``session``, a live claim from a machine that is not a direct peer is refused too:
        its claims reach us through a third machine, and the majority rule assumes every machine
        counts the same devices (docs/design/lease.md, Limits).
        """
        peers = self.transport.peers()
        missing = [p for p in peers if not p.connected]
        connected = [p.device_id for p in peers if p.connected]
        if session is not None and not force:
            known = {p.device_id for p in peers} | {self.device_id}
            for view in live_views(self.views(session)):
                if view.device not in known:
                    raise PeerUnreachable(
                        f"Session {session} is claimed by {view.device[:7]}, which is not a "
                        "direct peer of this machine, so the lease cannot be checked with it.",
                        hint="Pair every machine with every other (`roam peers add`), or pass "
                        "--force.",
                    )
        if not missing:
            return Quorum(connected)
        labels = [f"{p.name or p.device_id[:7]} ({p.device_id[:7]})" for p in missing]
        names = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
        if force:
            if warn:
                log.warning(
                    "FORCED: going ahead without %s; if it is writing this session, expect a "
                    "conflict",
                    names,
                )
            return Quorum(connected, forced=tuple(p.device_id for p in missing))
        if has_majority(len(peers) + 1, len(connected) + 1):
            log.info("%s not connected; the lease is decided by the majority that is", names)
            return Quorum(connected, absent=frozenset(p.device_id for p in missing))
        if allows_provisional(self.rule, len(peers) + 1):
            log.info(
                "%s not connected and no majority here: only a clean release lets us in", names
            )
            return Quorum(
                connected, absent=frozenset(p.device_id for p in missing), provisional=True
            )
        verb = "is" if len(missing) == 1 else "are"
        raise PeerUnreachable(
            f"Cannot take the lease while {names} {verb} not connected: only "
            f"{len(connected) + 1} of the {len(peers) + 1} machines sharing the folder can be "
            'asked, a lease needs more than half (lease_rule = "majority"), and the others '
            "might be writing this session.",
            hint="Connect them (`roam status` shows who is missing), or pass --force if they are "
            "not using this session.",
        )

    def run(
        self,
        flow: Flow,
        *,
        session: str,
        wait_for: Sequence[str],
        timeout_s: float,
        on_queued: Callable[[ClaimView | None], None] | None = None,
    ) -> Won | Lost:
        """Drive a flow to its end; on the deadline throw SyncTimeout into it (it withdraws).
        ``on_queued`` hears whom a waiting flow queues behind (``Queued``).

        Every barrier of a flow also pulls what the peers announced before confirming (see
        ``LeaseTransport.publish``): a machine deciding in degraded mode writes only to a
        majority, and a read that missed its claim could grant the session twice.
        """
        deadline = self.clock() + timeout_s
        reply: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(reply)
            except StopIteration as stop:
                result: Won | Lost = stop.value
                return result
            error, reply = None, None
            if isinstance(step, Queued):
                if on_queued is not None:
                    on_queued(step.blocker)
                continue
            try:
                reply = self._answer(step, session, wait_for, deadline, timeout_s)
            except BaseException as exc:
                error = exc

    def _answer(
        self,
        step: Read | Publish | Sleep,
        session: str,
        wait_for: Sequence[str],
        deadline: float,
        timeout_s: float,
    ) -> Any:
        if isinstance(step, Read):
            return self.views(session)
        if isinstance(step, Sleep):
            if self.clock() + step.seconds > deadline:
                raise SyncTimeout(
                    f"Gave up after {timeout_s:g} s: another machine is still choosing its "
                    f"ticket for session {session}, or still holds it.",
                )
            self.sleep(step.seconds)
            return None
        self.transport.write_claim(step.claim)
        # A barrier longer than TTL/3 could let peers that already have this version judge it
        # expired before our next write reaches them: give up instead (the flow withdraws).
        remaining = max(0.1, min(deadline - self.clock(), step.claim.ttl_s / 3))
        self.transport.publish(
            step.claim,
            wait_for=wait_for if step.wait else (),
            timeout_s=remaining,
            pull=step.wait,
        )
        return None


def _replace_view(view: ClaimView, **changes: Any) -> ClaimView:
    from dataclasses import replace

    return replace(view, **changes)
