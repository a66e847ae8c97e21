"""Run the lease simulation at scale and print schedules/s, grants and double grants.

    .venv/bin/python -m bench.lease.simulate --schedules 20000 --seed 1

The same model and the same decision code as tests/engine/test_lease_simulation.py, bigger.
Exit status 1 if any schedule granted a session twice.
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.engine.lease_sim import simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--horizon", type=float, default=8.0, help="simulated seconds per schedule")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    result = simulate(args.schedules, seed=args.seed, horizon_s=args.horizon)
    took = time.perf_counter() - began
    print(
        f"schedules {args.schedules} ({args.schedules / took:.0f}/s, {took:.1f} s), "
        f"grants {result.grants}, double grants {result.double_grants}, "
        f"lost races {result.losses}, refusals (peer unreachable) {result.refusals}, "
        f"timeouts {result.timeouts}, crashes {result.crashes}, "
        f"takeovers after a crash {result.takeovers_after_crash}"
    )
    for line in result.log[:10]:
        print(line)
    return 1 if result.double_grants else 0


if __name__ == "__main__":
    sys.exit(main())
