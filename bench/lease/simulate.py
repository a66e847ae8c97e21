"""Run the lease simulation at scale and print schedules/s, grants and double grants.

    .venv/bin/python -m bench.lease.simulate --schedules 50000 --faults all --seed 1

The same model and the same decision code as tests/engine/test_lease_simulation.py, bigger.
``--faults all`` is the issue-8 mix (vaults, long partitions, machines off and back, crashes,
degraded mode); ``--faults partition`` keeps only long partitions; ``--faults pauses`` is the mix
from before issue 8 (short pauses and crashes, no vault); ``--faults apart`` is two machines that
cannot reach each other but both reach the vault; ``--faults two`` is issue 20's laptop and
desktop with nothing always on (``two-lids``: only lids and crashes, no link ever cut between
two machines that are on). ``--rule released`` (roam's default) adds the provisional grant
of two-device folders and counts the forks it makes and the turns lost after every fork healed.
Negative controls, which must show double grants: ``--rule any`` (degraded mode without a
majority), ``--faults apart --pull never --pull-s 0.5`` (barriers that do not wait for the
data the peers announced), ``--control lower-ticket`` (a fast path that wins on "no claim
ahead of mine" instead of "no other claim": issue 16) and, with ``--wait P`` (the share of
acquisitions that queue behind the holder, ``roam cr --wait``), ``--control expiry`` (a waiter
that believes a holder's expiry without a barrier). ``--control fast-queue`` (a waiter that
queues with its fast ticket, without the doorway) is reported, not required to fail.
Exit status 1 if any schedule granted a session twice or lost a turn.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import time
from typing import TYPE_CHECKING, cast

from tests.engine.lease_sim import SimConfig, StartRule, mixed_faults, simulate, two_machines

from session_roam.engine.lease import protocol as lease_protocol

if TYPE_CHECKING:
    import random
    from collections.abc import Callable


def _partitions_only(rng: random.Random, *, horizon_s: float, rule: StartRule) -> SimConfig:
    config = mixed_faults(rng, horizon_s=horizon_s, rule=rule)
    return dataclasses.replace(
        config,
        pause_p=0.0,
        crash_p=0.0,
        off_p=0.0,
        vault_off_p=0.0,
        vault_crash_p=0.0,
        partition_p=1.0,
    )


def _pauses_only(rng: random.Random, *, horizon_s: float, rule: StartRule) -> SimConfig:
    return SimConfig(nodes=rng.choice([2, 3, 3, 4]), horizon_s=horizon_s, rule=rule)


def _apart(rng: random.Random, *, horizon_s: float, rule: StartRule) -> SimConfig:
    del rng
    return SimConfig(
        nodes=2, vaults=1, horizon_s=horizon_s, rule=rule, pause_p=0.0, crash_p=0.0, apart=True
    )


def _two_lids(rng: random.Random, *, horizon_s: float, rule: StartRule) -> SimConfig:
    config = two_machines(rng, horizon_s=horizon_s, rule=rule)
    return dataclasses.replace(config, partition_p=0.0, pause_p=0.0)


_MIXES: dict[str, Callable[..., SimConfig]] = {
    "all": mixed_faults,
    "apart": _apart,
    "partition": _partitions_only,
    "pauses": _pauses_only,
    "two": two_machines,
    "two-lids": _two_lids,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--schedules", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--horizon", type=float, default=5.0, help="simulated seconds each")
    parser.add_argument("--faults", choices=sorted(_MIXES), default="all")
    parser.add_argument(
        "--rule", choices=["majority", "released", "strict", "any"], default="majority"
    )
    parser.add_argument(
        "--pull",
        choices=["always", "degraded", "never"],
        default="always",
        help="which barriers wait for the data the peers announced (the driver: always)",
    )
    parser.add_argument(
        "--pull-s",
        type=float,
        default=None,
        help="most seconds between an announcement and its data (default: the mix's 0-0.3)",
    )
    parser.add_argument(
        "--control",
        choices=["none", "lower-ticket", "expiry", "fast-queue"],
        default="none",
        help="lower-ticket: the fast path wins whenever no claim is ahead (must double-grant); "
        "expiry: a waiter trusts an expiry without a barrier (must double-grant with --wait); "
        "fast-queue: a waiter queues with its fast ticket",
    )
    parser.add_argument(
        "--wait", type=float, default=0.0, help="share of acquisitions that queue (cr --wait)"
    )
    args = parser.parse_args(argv)
    if args.control == "lower-ticket":
        lease_protocol.alone = lambda mine, views: True
    elif args.control == "expiry":
        lease_protocol._expired_in_the_way = lambda mine, views: False
    elif args.control == "fast-queue":
        lease_protocol.WAIT_FROM_DOORWAY = False  # type: ignore[misc]
    mix = functools.partial(
        _MIXES[args.faults], horizon_s=args.horizon, rule=cast("StartRule", args.rule)
    )

    def configs(rng: random.Random) -> SimConfig:
        config = dataclasses.replace(mix(rng), pull=args.pull, wait_p=args.wait)
        return config if args.pull_s is None else dataclasses.replace(config, pull_s=args.pull_s)

    began = time.perf_counter()
    result = simulate(args.schedules, seed=args.seed, configs=configs)
    took = time.perf_counter() - began
    print(
        f"schedules {result.schedules} ({result.schedules / took:.0f}/s, {took:.1f} s), "
        f"faults {args.faults}, rule {args.rule}, pull {args.pull}, seed {args.seed}, "
        f"control {args.control}\n"
        f"grants {result.grants}, degraded grants {result.degraded_grants} "
        f"(in {result.degraded_schedules} schedules), double grants {result.double_grants}\n"
        f"lost races {result.losses} (to an absent machine that never released: "
        f"{result.offline_losses}), refusals without a majority {result.refusals}, "
        f"withdrew as a peer disconnected {result.unreachable}, timeouts {result.timeouts}\n"
        f"queued behind a holder {result.queued} (then granted {result.queued_grants})\n"
        f"partitions {result.partitions}, machines off {result.offs}, "
        f"crashes {result.crashes}, takeovers after a crash {result.takeovers_after_crash}\n"
        f"provisional grants {result.provisional_grants} (refused {result.provisional_refusals}"
        f"), forks {result.forks} (on a stale copy {result.stale_forks}), turns {result.turns}, "
        f"lost after healing {result.lost_turns}"
    )
    for line in result.log[:10]:
        print(line)
    return 1 if result.double_grants or result.lost_turns else 0


if __name__ == "__main__":
    sys.exit(main())
