"""A discrete-event model of Syncthing carrying lease claims, driving the real lease flows.

What is modelled, and why it is enough for the protocol:

- each node keeps its own copy of every claim file; a node's publish sends its claim to every
  peer over one FIFO connection per pair (Syncthing sends one device's index updates in order
  over one connection) with a random delay, and the receiver answers with an announcement
  ("I have version N"), the writer's ``RemoteIndexUpdated``, over the reverse connection;
- connections drop and come back (pauses): messages wait, order is kept;
- nodes crash for good (kill -9): they stop renewing, their claim stays behind and must expire
  by the readers' own clocks;
- every decision is made by ``acquire_flow`` and ``make_view``, the code roam runs.

A double grant is two live nodes holding at once; the simulation counts them (there must be
none). Time is simulated, so thousands of schedules run in seconds.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from session_roam.engine.lease_model import (
    Claim,
    ClaimState,
    ClaimView,
    Observation,
    make_view,
    serialize_claim,
)
from session_roam.engine.lease_protocol import Flow, Lost, Publish, Read, Sleep, Won, acquire_flow
from session_roam.errors import SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Callable

SESSION = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"


@dataclass(slots=True)
class SimConfig:
    nodes: int = 3
    horizon_s: float = 30.0
    ttl_s: float = 3.0
    acquire_timeout_s: float = 6.0
    max_delay_s: float = 0.05
    spike_delay_s: float = 0.5
    spike_p: float = 0.05
    pause_p: float = 0.3
    max_pause_s: float = 0.8
    crash_p: float = 0.3
    max_scan_s: float = 0.02


@dataclass(slots=True)
class SimResult:
    grants: int = 0
    double_grants: int = 0
    losses: int = 0
    refusals: int = 0
    timeouts: int = 0
    takeovers_after_crash: int = 0
    crashes: int = 0
    log: list[str] = field(default_factory=list)

    def add(self, other: SimResult) -> None:
        self.grants += other.grants
        self.double_grants += other.double_grants
        self.losses += other.losses
        self.refusals += other.refusals
        self.timeouts += other.timeouts
        self.takeovers_after_crash += other.takeovers_after_crash
        self.crashes += other.crashes
        self.log.extend(other.log)


@dataclass(slots=True)
class _Node:
    device: str
    files: dict[str, bytes] = field(default_factory=dict)
    observations: dict[str, Observation] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)
    alive: bool = True
    flow: Flow | None = None
    waiting: tuple[int, frozenset[str], float] | None = None  # counter, peers, deadline
    holding: Claim | None = None
    counter: int = 0


class _World:
    def __init__(
        self, config: SimConfig, rng: random.Random, flow: Callable[..., Flow] = acquire_flow
    ) -> None:
        self.flow = flow
        self.config = config
        self.rng = rng
        self.now = 0.0
        self.queue: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.nodes = {f"DEV{i}": _Node(f"DEV{i}") for i in range(config.nodes)}
        self.channel_free: dict[tuple[str, str], float] = {}
        self.down_until: dict[frozenset[str], float] = {}
        self.result = SimResult()
        self.deadlines: dict[str, float] = {}
        self.required: dict[str, frozenset[str]] = {}

    # --- scheduling -------------------------------------------------------------------------
    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (when, next(self.seq), action))

    def run(self) -> SimResult:
        for node in self.nodes.values():
            self.at(self.rng.uniform(0, 0.5), functools.partial(self.start, node))
        self.schedule_faults()
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            if when > self.config.horizon_s:
                break
            self.now = when
            action()
        return self.result

    def schedule_faults(self) -> None:
        cfg = self.config
        names = list(self.nodes)
        for a, b in itertools.combinations(names, 2):
            if self.rng.random() < cfg.pause_p:
                start = self.rng.uniform(0, cfg.horizon_s)
                self.at(start, functools.partial(self.pause, a, b))
        if self.rng.random() < cfg.crash_p:
            victim = self.rng.choice(names)
            self.at(self.rng.uniform(0, cfg.horizon_s), lambda: self.crash(self.nodes[victim]))

    # --- network ------------------------------------------------------------------------------
    def connected(self, a: str, b: str) -> bool:
        if not (self.nodes[a].alive and self.nodes[b].alive):
            return False
        return self.down_until.get(frozenset((a, b)), 0.0) <= self.now

    def pause(self, a: str, b: str) -> None:
        self.down_until[frozenset((a, b))] = self.now + self.rng.uniform(
            0.05, self.config.max_pause_s
        )

    def send(self, src: str, dst: str, deliver: Callable[[], None]) -> None:
        cfg = self.config
        delay = self.rng.uniform(0.001, cfg.max_delay_s)
        if self.rng.random() < cfg.spike_p:
            delay += self.rng.uniform(0, cfg.spike_delay_s)
        when = max(self.now + delay, self.channel_free.get((src, dst), 0.0))
        down = self.down_until.get(frozenset((src, dst)), 0.0)
        if down > self.now:
            when = max(when, down + delay)
        self.channel_free[(src, dst)] = when  # FIFO per connection, as Syncthing's index stream

        def arrive() -> None:
            if self.nodes[src].alive and self.nodes[dst].alive:
                deliver()

        self.at(when, arrive)

    # --- node behaviour ----------------------------------------------------------------------
    def views(self, node: _Node) -> list[ClaimView]:
        result = []
        for device, raw in sorted(node.files.items()):
            view, obs = make_view(
                raw,
                session=SESSION,
                device=device,
                previous=node.observations.get(device),
                now=self.now,
            )
            node.observations[device] = obs
            result.append(view)
        return result

    def publish(self, node: _Node, claim: Claim) -> None:
        raw = serialize_claim(claim)
        node.files[node.device] = raw
        for peer in self.nodes:
            if peer == node.device:
                continue

            def deliver(peer: str = peer, counter: int = claim.counter) -> None:
                self.nodes[peer].files[node.device] = raw
                self.send(peer, node.device, lambda: self.ack(node, peer, counter))

            self.send(node.device, peer, deliver)

    def ack(self, node: _Node, peer: str, counter: int) -> None:
        node.acked[peer] = max(node.acked.get(peer, 0), counter)
        self.check_barrier(node)

    def check_barrier(self, node: _Node) -> None:
        if node.waiting is None or not node.alive:
            return
        counter, peers, _ = node.waiting
        if all(node.acked.get(p, 0) >= counter for p in peers):
            node.waiting = None
            self.step(node, None)

    def start(self, node: _Node) -> None:
        if not node.alive or node.flow is not None or node.holding is not None:
            return
        peers = [p for p in self.nodes if p != node.device]
        unreachable = [p for p in peers if not self.connected(node.device, p)]
        if any(self.nodes[p].alive for p in unreachable):
            self.result.refusals += 1  # PeerUnreachable; try again later
            self.at(self.now + self.rng.uniform(0.2, 1.0), lambda: self.start(node))
            return
        # Unreachable only because crashed: the user forces past it (recorded in the claim).
        forced = tuple(unreachable)
        node.counter += 1
        base = Claim(
            session=SESSION,
            device=node.device,
            ticket=0,
            state=ClaimState.CHOOSING,
            ttl_s=self.config.ttl_s,
            counter=0,
            forced_past=forced,
        )
        node.flow = self.flow(base, poll_s=0.05)
        deadline = self.now + self.config.acquire_timeout_s
        self.step(node, None, deadline=deadline, required=frozenset(set(peers) - set(forced)))

    def step(
        self,
        node: _Node,
        reply: Any,
        *,
        deadline: float | None = None,
        required: frozenset[str] | None = None,
        throw: BaseException | None = None,
    ) -> None:
        flow = node.flow
        if flow is None or not node.alive:
            return
        if deadline is not None:
            self.deadlines[node.device] = deadline
        if required is not None:
            self.required[node.device] = required
        try:
            request = flow.throw(throw) if throw is not None else flow.send(reply)
            while True:
                if isinstance(request, Read):
                    request = flow.send(self.views(node))
                elif isinstance(request, Publish):
                    # Writing the file and Syncthing's scan take time, during which other
                    # claims keep arriving: the gap between a read and our publish.
                    publish = request
                    self.at(
                        self.now + self.rng.uniform(0.0, self.config.max_scan_s),
                        functools.partial(self.published, node, publish),
                    )
                    return
                else:
                    assert isinstance(request, Sleep)
                    if self.now + request.seconds > self.deadlines[node.device]:
                        request = flow.throw(SyncTimeout("choosing peer never finished"))
                        continue
                    self.at(self.now + request.seconds, lambda: self.step(node, None))
                    return
        except StopIteration as stop:
            node.flow = None
            self.finish(node, stop.value)
        except SyncTimeout:
            node.flow = None
            self.result.timeouts += 1
            self.at(self.now + self.rng.uniform(0.1, 1.0), lambda: self.start(node))

    def published(self, node: _Node, request: Publish) -> None:
        if not node.alive or node.flow is None:
            return
        self.publish(node, request.claim)
        if not request.wait:
            self.step(node, None)
            return
        # The driver's rule: a barrier is bounded to TTL/3, then the flow withdraws.
        barrier_deadline = min(self.deadlines[node.device], self.now + request.claim.ttl_s / 3)
        node.waiting = (request.claim.counter, self.required[node.device], barrier_deadline)
        self.at(barrier_deadline, lambda: self.timeout(node))
        self.check_barrier(node)

    def timeout(self, node: _Node) -> None:
        if node.waiting is not None and node.waiting[2] <= self.now:
            node.waiting = None
            self.step(node, None, throw=SyncTimeout("barrier timed out"))

    def finish(self, node: _Node, outcome: Won | Lost) -> None:
        if isinstance(outcome, Lost):
            self.result.losses += 1
            self.at(self.now + self.rng.uniform(0.05, 2.0), lambda: self.start(node))
            return
        others = [n.device for n in self.nodes.values() if n.holding is not None and n.alive]
        self.result.grants += 1
        if others:
            self.result.double_grants += 1
            self.result.log.append(f"t={self.now:.3f} {node.device} granted while {others} hold")
        if any(not n.alive and n.holding is not None for n in self.nodes.values()):
            self.result.takeovers_after_crash += 1
        node.holding = outcome.claim
        hold = self.rng.choice([0.05, 0.3, 1.0, self.config.ttl_s * 2])
        self.at(self.now + self.config.ttl_s / 3, lambda: self.renew(node))
        self.at(self.now + hold, lambda: self.release(node))

    def renew(self, node: _Node) -> None:
        if node.alive and node.holding is not None:
            node.holding = node.holding.bump()
            self.publish(node, node.holding)
            self.at(self.now + self.config.ttl_s / 3, lambda: self.renew(node))

    def release(self, node: _Node) -> None:
        if node.alive and node.holding is not None:
            claim = node.holding.bump(state=ClaimState.RELEASED)
            node.holding = None
            self.publish(node, claim)
            self.at(self.now + self.rng.uniform(0.01, 1.5), lambda: self.start(node))

    def crash(self, node: _Node) -> None:
        if node.alive:
            node.alive = False
            node.flow = None
            node.waiting = None
            self.result.crashes += 1
            # A dead node writes nothing more: it no longer holds, but its claim file stays.


def simulate(
    schedules: int,
    *,
    seed: int = 1,
    config: SimConfig | None = None,
    horizon_s: float = 30.0,
    flow: Callable[..., Flow] = acquire_flow,
) -> SimResult:
    """Run ``schedules`` independent random schedules and add up what happened.

    Without ``config`` each schedule draws its cluster size (2-4 nodes) from the seed.
    """
    total = SimResult()
    master = random.Random(seed)
    for _ in range(schedules):
        cfg = config or SimConfig(nodes=master.choice([2, 3, 3, 4]), horizon_s=horizon_s)
        world = _World(cfg, random.Random(master.getrandbits(64)), flow)
        total.add(world.run())
    return total
