"""A discrete-event model of Syncthing carrying lease claims, driving the real lease flows.

What is modelled (links and faults in ``lease_sim_net`` and ``lease_sim_faults``, the replicas'
storing and relaying in ``lease_sim_replicas``, settings and counts in ``lease_sim_config``):

- every replica keeps the newest version of every claim file and relays what it stores to every
  other replica over FIFO links with random delays; a version coming back to its writer is that
  peer's announcement, the writer's ack; so a claim reaches B through the always-on vault while
  A-B is down, and every ack comes after the peer's announcements of what it had before;
- always-on replicas (``vaults``) that store and forward but never run roam;
- faults: short pauses of one link, long partitions (a replica cut off from some or all others,
  or the cluster split in two), machines that go off and come back (files persist, the roam
  process and its lease are gone, observations restart with the boot) and crashes for good;
- the start rule of the real engine (``SimConfig.rule``): every peer connected -> the plain
  protocol; else a majority of the folder's devices connected -> degraded mode with
  ``absent`` = the missing ones; else refuse, unless every missing machine is dead for good (the
  user then forces past it); a required peer that disconnects during a barrier throws
  ``PeerUnreachable`` into the flow, as the real transport does;
- every decision is made by ``acquire_flow`` and ``make_view``, the code roam runs.

A double grant is two machines that are on holding at once; a holder cut off by a partition
keeps holding and renewing (the renewals just do not arrive). Time is simulated, so thousands of
schedules run in seconds.

A file's data may lag its announcement (``SimConfig.pull_s``; a third of the random schedules):
the barrier then also waits for the data the peers announced before confirming, as the real
driver does after every barrier (``pull``; switched off it is a negative control).

Not modelled: steals, torn or unreadable claim files, clock skew (no decision reads another
machine's clock), topologies other than a full mesh, and machines that disagree about who shares
the folder. A machine's own active claim counts as ``local_dead`` only while no roam process runs
there, as ``LocalLocks`` has it; flows read only while their process is alive, so their
decisions never see that flag set.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
from typing import TYPE_CHECKING, Any

from session_roam.engine.lease.bakery import has_majority
from session_roam.engine.lease.model import Claim, ClaimState, ClaimView, make_view
from session_roam.engine.lease.protocol import (
    Flow,
    Lost,
    Publish,
    Queued,
    Read,
    Sleep,
    Won,
    acquire_flow,
)
from session_roam.engine.lease.rule import LeaseRule, allows_provisional, provisional
from session_roam.errors import PeerUnreachable, SyncTimeout
from tests.engine.lease_sim_config import (
    Replica,
    SimConfig,
    SimResult,
    StartRule,
    mixed_faults,
    two_machines,
)
from tests.engine.lease_sim_faults import schedule_faults
from tests.engine.lease_sim_net import Power
from tests.engine.lease_sim_replicas import Replicas
from tests.engine.lease_sim_session import (
    copy_of,
    is_session_file,
    lost_turns,
    stamp_of,
    write_turn,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "SESSION",
    "SimConfig",
    "SimResult",
    "StartRule",
    "World",
    "mixed_faults",
    "simulate",
    "two_machines",
]

SESSION = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"


class World(Replicas):
    """One schedule: the replicas, the roam process on each trusted machine, and the faults."""

    def __init__(
        self, config: SimConfig, rng: random.Random, flow: Callable[..., Flow] = acquire_flow
    ) -> None:
        super().__init__(config, rng)
        self.flow_factory = flow
        self.result = SimResult(schedules=1)
        self.settling = False  # after the horizon: nobody starts, every fault heals

    def run(self) -> SimResult:
        if self.config.handover:
            self.at(0.0, functools.partial(self.start, self.nodes["DEV1"]))
        else:
            for name in self.trusted:
                self.at(self.rng.uniform(0, 0.5), functools.partial(self.start, self.nodes[name]))
            schedule_faults(self, self.config)
        if self.config.apart:
            self.fault([frozenset(("DEV0", "DEV1"))], self.config.horizon_s)
        self.run_until(self.config.horizon_s)
        self.result.degraded_schedules = int(self.result.degraded_grants > 0)
        if self.config.rule == "released":
            self.settle()
        return self.result

    def settle(self) -> None:
        """The end of the story: every writer exits, every machine comes back, every link heals;
        then every turn must be in every machine's copy (the forks repaired whole)."""
        self.settling = True
        for node in self.nodes.values():
            if node.flow is not None and node.holding is None:
                self._kill_process(node)  # a claimant still waiting is stopped with Ctrl-C
            if self.power[node.device] is Power.OFF:
                self.power_on(node)
            if node.holding is not None and self.power[node.device] is Power.UP:
                self.release(node, node.token)
        # Every fault ends within the horizon plus its own length; messages then drain.
        longest = max(self.config.max_partition_s, self.config.horizon_s, self.config.max_pause_s)
        self.run_until(self.config.horizon_s + longest + 10.0)
        self.result.lost_turns = lost_turns(self)

    def views(self, node: Replica) -> list[ClaimView]:
        result = []
        for device, (_, raw) in sorted(node.files.items()):
            if is_session_file(device):
                continue
            view, obs = make_view(
                raw,
                session=SESSION,
                device=device,
                previous=node.observations.get(device),
                now=self.now,
                boot=str(node.boot),
            )
            node.observations[device] = obs
            if (
                device == node.device
                and view.claim is not None
                and view.claim.active
                and node.flow is None
                and node.holding is None
            ):
                # LocalLocks.owner_alive: no roam process here holds the session's lock.
                view = dataclasses.replace(view, local_dead=True)
            result.append(view)
        return result

    # --- the roam process: acquire ------------------------------------------------------------
    def retry(self, node: Replica, low: float, high: float) -> None:
        token = node.token
        self.at(self.now + self.rng.uniform(low, high), lambda: self.start(node, token))

    def start(self, node: Replica, token: int | None = None) -> None:
        if token is not None and token != node.token:
            return
        if self.power[node.device] is not Power.UP or node.flow is not None or node.holding:
            return
        if self.settling:
            return
        peers = [p for p in self.names if p != node.device]
        connected = frozenset(p for p in peers if self.connected(node.device, p))
        missing = frozenset(peers) - connected
        rule = self.config.rule
        forced: frozenset[str] = frozenset()
        absent: frozenset[str] = frozenset()
        if (
            missing
            and rule != "strict"
            and (rule == "any" or has_majority(len(self.names), len(connected) + 1))
        ):
            absent = missing
        provisional_grant = False
        two = allows_provisional(LeaseRule.RELEASED, len(self.names))
        if missing and not absent and rule == "released" and two:
            # Issue 20: no majority, but maybe every absent machine released and its bytes are
            # here (the same check roam runs before the flow, lease_rule.provisional).
            verdict = provisional(
                self.views(node),
                me=node.device,
                absent=missing,
                have=stamp_of(copy_of(node)),
            )
            if verdict.granted:
                absent, provisional_grant = missing, True
            else:
                self.result.provisional_refusals += 1
                node.force_past_dead = node.force_past_dead or (
                    verdict.holder is not None
                    and self.power.get(verdict.holder.device) is Power.DEAD
                )
        dead = bool(missing) and all(self.power[p] is Power.DEAD for p in missing)
        if dead and (rule == "strict" or not absent or node.force_past_dead):
            # The user forces past machines known to be dead (--force, on the record).
            forced, absent, provisional_grant = missing, frozenset(), False
        if missing and not absent and not forced:
            self.result.refusals += 1  # PeerUnreachable; try again later
            self.retry(node, 0.2, 1.0)
            return
        base = Claim(
            session=SESSION,
            device=node.device,
            ticket=0,
            state=ClaimState.CHOOSING,
            ttl_s=self.config.ttl_s,
            counter=0,
            forced_past=tuple(sorted(forced)),
        )
        node.token += 1
        node.force_past_dead = False
        options: dict[str, Any] = {"poll_s": 0.05}
        if absent:
            options["absent"] = absent
        if self.config.wait_p and self.rng.random() < self.config.wait_p:
            options["wait"] = True  # drawn only in schedules with waiters: others keep their seeds
        node.queued = False
        node.flow = self.flow_factory(base, **options)
        node.absent = absent
        node.provisional = provisional_grant
        node.required = connected
        # ``roam cr --wait`` has no deadline: it waits for as long as the holder holds
        node.deadline = self.now + (
            math.inf if "wait" in options else self.config.acquire_timeout_s
        )
        self.step(node, None)

    def step(self, node: Replica, reply: Any, *, throw: BaseException | None = None) -> None:
        flow = node.flow
        if flow is None:
            return
        try:
            request = flow.throw(throw) if throw is not None else flow.send(reply)
            while True:
                if isinstance(request, Read):
                    request = flow.send(self.views(node))
                elif isinstance(request, Queued):
                    self.result.queued += 1
                    node.queued = True
                    request = flow.send(None)
                elif isinstance(request, Publish):
                    # Writing the file and Syncthing's scan take time, during which other
                    # claims keep arriving: the gap between a read and our publish.
                    self.at(
                        self.now + self.rng.uniform(0.0, self.config.max_scan_s),
                        functools.partial(self.published, node, request, node.token),
                    )
                    return
                else:
                    assert isinstance(request, Sleep)
                    if self.now + request.seconds > node.deadline:
                        request = flow.throw(SyncTimeout("choosing peer never finished"))
                        continue
                    wake = functools.partial(self.wake, node, node.token)
                    self.at(self.now + request.seconds, wake)
                    return
        except StopIteration as stop:
            node.flow = None
            self.finish(node, stop.value)
        except SyncTimeout:
            node.flow = None
            self.result.timeouts += 1
            self.retry(node, 0.1, 1.0)
        except PeerUnreachable:
            node.flow = None
            self.result.unreachable += 1
            self.retry(node, 0.2, 1.0)

    def wake(self, node: Replica, token: int) -> None:
        if token == node.token:
            self.step(node, None)

    def published(self, node: Replica, request: Publish, token: int) -> None:
        if token != node.token or node.flow is None:
            return
        version = self.publish(node, request.claim)
        if not request.wait:
            self.step(node, None)
            return
        # The driver's rule: a barrier is bounded to TTL/3, then the flow withdraws. A peer
        # that is already disconnected sends no DeviceDisconnected: the barrier times out,
        # unless the link comes back and the peer confirms in time.
        barrier_deadline = min(node.deadline, self.now + request.claim.ttl_s / 3)
        node.waiting, node.pulling = (version, barrier_deadline), None
        self.at(barrier_deadline, lambda: self.barrier_timeout(node, token))
        self.check_barrier(node)

    def check_barrier(self, node: Replica) -> None:
        if node.waiting is None:
            return
        if node.pulling is None:
            version, acked = node.waiting[0], node.acked
            if not all(acked.get(p, 0) >= version for p in node.required):
                return
            pull = self.config.pull
            if pull == "always" or (pull == "degraded" and node.absent):
                # The pull: every version the peers announced before confirming ours.
                node.pulling = {w: v for w, v in node.announced.items() if not is_session_file(w)}
            else:
                node.pulling = {}
        files = node.files
        if any(files.get(w, (0, b""))[0] < v for w, v in node.pulling.items()):
            return
        node.waiting = node.pulling = None
        self.step(node, None)

    def barrier_timeout(self, node: Replica, token: int) -> None:
        if token == node.token and node.waiting is not None and node.waiting[1] <= self.now:
            node.waiting = None
            self.step(node, None, throw=SyncTimeout("barrier timed out"))

    def link_lost(self, a: str, b: str) -> None:
        node = self.nodes[a]
        # The transport watches for DeviceDisconnected only until the peers confirmed.
        if node.waiting is not None and node.pulling is None and b in node.required:
            node.waiting = None
            self.step(node, None, throw=PeerUnreachable(f"{b} disconnected"))

    # --- the roam process: hold, renew, release -----------------------------------------------
    def finish(self, node: Replica, outcome: Won | Lost) -> None:
        if isinstance(outcome, Lost):
            self.result.losses += 1
            self.result.offline_losses += outcome.offline
            blocker = outcome.blocker.device
            if outcome.offline and self.power.get(blocker) is Power.DEAD:
                node.force_past_dead = True  # its user will pass --force next time
            self.retry(node, 0.05, 2.0)
            return
        others = [
            n.device
            for n in self.nodes.values()
            if n.holding is not None and self.power[n.device] is Power.UP
        ]
        self.result.grants += 1
        self.result.queued_grants += node.queued
        self.result.degraded_grants += bool(node.absent) and not node.provisional
        self.result.provisional_grants += node.provisional
        provisional_involved = node.provisional or any(self.nodes[o].provisional for o in others)
        if not others and node.provisional and self.stale(node):
            self.result.forks += 1  # it continues a copy that lacks turns written elsewhere
            self.result.stale_forks += 1
        elif others and provisional_involved:
            self.result.forks += 1  # two writers at once, at least one without a majority
        elif others:
            self.result.double_grants += 1
            mode = f"degraded without {sorted(node.absent)}" if node.absent else "normal"
            self.result.log.append(
                f"t={self.now:.3f} {node.device} granted ({mode}) while {others} hold"
            )
        if any(self.power[n] is Power.DEAD and self.nodes[n].holding for n in self.names):
            self.result.takeovers_after_crash += 1
        node.holding = outcome.claim
        hold = self.rng.choice([0.05, 0.3, 1.0, self.config.ttl_s * 2])
        if self.config.handover and node.device == "DEV1":
            hold = self.hand_over(node)
        token = node.token
        self.at(self.now + self.config.ttl_s / 3, lambda: self.renew(node, token))
        self.at(self.now + hold, lambda: self.release(node, token))
        if self.config.rule == "released":
            self.turn(node, token)

    def stale(self, node: Replica) -> bool:
        """Does ``node``'s copy lack a turn that some machine has written by now?"""
        have = copy_of(node)
        return any(
            f"{other.device}#{other.written}" not in have
            for other in self.nodes.values()
            if other.written and self.power[other.device] is not Power.DEAD
        )

    def turn(self, node: Replica, token: int) -> None:
        """A holder writes a turn now and then, until it releases (or its machine goes off)."""
        if token != node.token or node.holding is None or self.settling:
            return
        write_turn(self, node)
        self.result.turns += 1
        self.at(self.now + self.rng.uniform(0.1, 0.6), lambda: self.turn(node, token))

    def hand_over(self, laptop: Replica) -> float:
        """The scripted schedules: how the laptop (DEV1) leaves; DEV0 then tries to continue."""
        how = self.config.handover
        if how == "release":
            return 0.3  # then release() closes the lid
        leave = self.now + 0.3
        if how == "off":  # the lid closes mid-session: no release
            self.at(leave, lambda: self.power_off(laptop, back_after=None))
        else:  # "cut": the laptop keeps writing behind a partition that outlasts the run
            pairs = [frozenset((laptop.device, n)) for n in self.names if n != laptop.device]
            self.at(leave, functools.partial(self.fault, pairs, self.config.horizon_s))
        self.at(leave + 0.5, functools.partial(self.start, self.nodes["DEV0"]))
        return self.config.horizon_s

    def renew(self, node: Replica, token: int) -> None:
        if token == node.token and node.holding is not None:
            node.holding = node.holding.bump()
            self.publish(node, node.holding)
            self.at(self.now + self.config.ttl_s / 3, lambda: self.renew(node, token))

    def release(self, node: Replica, token: int) -> None:
        if token != node.token or node.holding is None:
            return
        claim = node.holding.bump(state=ClaimState.RELEASED)
        if self.config.rule == "released":
            # The turns went out as they were written; the stamp names the copy as it is now.
            stamp = stamp_of(copy_of(node), claim.ticket)
            claim = dataclasses.replace(claim, release=stamp or claim.release)
        node.holding = None
        node.provisional = False
        self.publish(node, claim)
        if self.config.handover == "release" and node.device == "DEV1":
            # A clean release reaches the others, then the laptop is closed for the night.
            off_at = self.now + self.rng.uniform(0.3, 1.0)
            self.at(off_at, lambda: self.power_off(node, back_after=None))
            self.at(off_at + 0.5, functools.partial(self.start, self.nodes["DEV0"]))
            return
        self.retry(node, 0.01, 1.5)

    # --- power ----------------------------------------------------------------------------------
    def _kill_process(self, node: Replica) -> None:
        if node.flow is not None:
            node.flow.close()
        node.flow = None
        node.waiting = None
        node.holding = None
        node.token += 1

    def crash(self, node: Replica) -> None:
        if self.power[node.device] is Power.DEAD:
            return
        self.result.crashes += 1
        holding = node.holding
        self._kill_process(node)
        # A dead machine writes nothing more; its claim file stays where it reached.
        node.holding = holding  # remembered only to count takeovers after a crash
        self.set_power(node.device, Power.DEAD)

    def power_off(self, node: Replica, back_after: float | None) -> None:
        if self.power[node.device] is not Power.UP:
            return
        self.result.offs += 1
        self._kill_process(node)
        self.set_power(node.device, Power.OFF)
        if back_after is not None:
            self.at(self.now + back_after, lambda: self.power_on(node))

    def power_on(self, node: Replica) -> None:
        if self.power[node.device] is not Power.OFF:
            return
        node.boot += 1  # the monotonic clock restarted: every claim is "first seen now"
        self.set_power(node.device, Power.UP)
        if not node.vault:
            self.retry(node, 0.1, 1.0)


def simulate(
    schedules: int,
    *,
    seed: int = 1,
    config: SimConfig | None = None,
    horizon_s: float = 30.0,
    flow: Callable[..., Flow] = acquire_flow,
    configs: Callable[[random.Random], SimConfig] | None = None,
) -> SimResult:
    """Run ``schedules`` independent random schedules and add up what happened.

    ``configs`` draws each schedule's configuration from the seeded generator; without it and
    without ``config`` each schedule draws its cluster size (2-4 nodes) from the seed.
    """
    total = SimResult()
    master = random.Random(seed)
    for _ in range(schedules):
        if configs is not None:
            cfg = configs(master)
        else:
            cfg = config or SimConfig(nodes=master.choice([2, 3, 3, 4]), horizon_s=horizon_s)
        world = World(cfg, random.Random(master.getrandbits(64)), flow)
        total.add(world.run())
    return total
