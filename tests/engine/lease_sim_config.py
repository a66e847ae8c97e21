"""A simulated schedule's settings, what it counted, and the state of each of its machines."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import random

    from session_roam.engine.lease.model import Claim, Observation
    from session_roam.engine.lease.protocol import Flow

__all__ = ["Replica", "SimConfig", "SimResult", "StartRule", "mixed_faults", "two_machines"]

#: ``strict``: refuse unless every peer is connected (or dead: forced past), the rule before
#: issue 8. ``majority``: the degraded mode of issue 8. ``released``: issue 20's default, the
#: majority rule plus a provisional grant without a majority when every absent machine released
#: cleanly and this machine has the released bytes (``lease_rule.provisional``). ``any``:
#: degraded mode WITHOUT a majority and without that check, a negative control.
StartRule = Literal["strict", "majority", "released", "any"]


@dataclass(slots=True)
class SimConfig:
    nodes: int = 3
    vaults: int = 0
    rule: StartRule = "majority"
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
    partition_p: float = 0.0
    min_partition_s: float = 1.0
    max_partition_s: float = 6.0
    off_p: float = 0.0
    max_off_s: float = 6.0
    vault_off_p: float = 0.0
    vault_crash_p: float = 0.0
    #: Scripted instead of random: DEV1 holds, then leaves (a clean release and the lid closes,
    #: the lid closes while holding, or a partition cuts it off while holding); DEV0 follows.
    handover: Literal["", "release", "off", "cut"] = ""
    #: Up to this long between a file's announcement reaching a replica and its data being there
    #: (0: together). ``pull``: which barriers then wait for the data (the driver: every one).
    pull_s: float = 0.0
    pull: Literal["always", "degraded", "never"] = "always"
    #: DEV0 and DEV1 cannot reach each other for the whole run (both may reach the vaults).
    apart: bool = False
    #: The share of acquisitions that queue behind a holder (``roam cr --wait``, issue 16).
    wait_p: float = 0.0


@dataclass(slots=True)
class SimResult:
    schedules: int = 0
    grants: int = 0
    degraded_grants: int = 0
    degraded_schedules: int = 0  # schedules with at least one degraded grant
    double_grants: int = 0
    losses: int = 0
    offline_losses: int = 0  # lost to an absent machine's unreleased claim
    refusals: int = 0  # not started: peers missing and no majority (strict: any peer missing)
    unreachable: int = 0  # withdrew: a required peer disconnected during a barrier
    timeouts: int = 0
    queued: int = 0  # acquisitions that queued behind a holder or a claim ahead (``--wait``)
    queued_grants: int = 0  # of the grants: after queueing
    takeovers_after_crash: int = 0
    # issue 20: grants without a majority, the forks they cause, and whether the forks healed
    provisional_grants: int = 0
    provisional_refusals: int = 0  # not started: an absent holder, or the bytes not here
    forks: int = 0  # provisional grants next to another holder, or on a copy missing turns
    stale_forks: int = 0  # of those: on a copy missing turns (nobody else holding then)
    turns: int = 0  # turns written by holders
    lost_turns: int = 0  # turns missing from a machine's copy once everything healed
    crashes: int = 0
    offs: int = 0
    partitions: int = 0
    log: list[str] = field(default_factory=list)

    def add(self, other: SimResult) -> None:
        for item in dataclasses.fields(self):
            if item.name != "log":
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))
        self.log.extend(other.log)


@dataclass(slots=True)
class Replica:
    """One machine's (or vault's) state: its copies of the claim files and its roam process."""

    device: str
    vault: bool = False
    peers: tuple[str, ...] = ()
    files: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    heard: dict[tuple[str, str], int] = field(default_factory=dict)  # (peer, writer) -> version
    observations: dict[str, Observation] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    boot: int = 0
    token: int = 0  # changes whenever the roam process starts a flow or dies
    flow: Flow | None = None
    absent: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    deadline: float = 0.0
    waiting: tuple[int, float] | None = None  # version, barrier deadline
    pulling: dict[str, int] | None = None  # after the acks: versions the pull still waits for
    announced: dict[str, int] = field(default_factory=dict)  # writer -> newest announced
    holding: Claim | None = None
    queued: bool = False  # the flow running now queued behind someone (``--wait``)
    force_past_dead: bool = False  # the user saw "offline" naming a machine that is dead
    provisional: bool = False  # the holding was granted without a majority
    written: int = 0  # turns this machine wrote (its own part of the session, issue 20)


def mixed_faults(
    rng: random.Random, *, horizon_s: float = 5.0, rule: StartRule = "majority"
) -> SimConfig:
    """A schedule of the issue-8 mix: 2-4 machines, often with a vault, and every kind of fault."""
    return SimConfig(
        nodes=rng.choice([2, 2, 3, 3, 4]),
        vaults=rng.choice([0, 1, 1, 1, 2]),
        rule=rule,
        horizon_s=horizon_s,
        pause_p=0.15,
        crash_p=0.15,
        partition_p=0.6,
        off_p=0.2,
        vault_off_p=0.15,
        vault_crash_p=0.02,
        pull_s=rng.choice([0.0, 0.0, 0.3]),
    )


def two_machines(
    rng: random.Random, *, horizon_s: float = 5.0, rule: StartRule = "released"
) -> SimConfig:
    """Issue 20's cluster: a laptop and a desktop and nothing always on, with every fault."""
    config = mixed_faults(rng, horizon_s=horizon_s, rule=rule)
    return dataclasses.replace(config, nodes=2, vaults=0, crash_p=0.1, off_p=0.3)
