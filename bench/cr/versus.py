"""``roam cr`` of this tree against an older tree of roam, interleaved in one run on one pair.

The load on a shared machine moves every figure; only a comparison in the same run says what
a change did. ``--base DIR`` is the ``src`` folder of the other tree (``git archive REV src``).
For each round: claude alone, then for each roam its ``cr`` with the real claude (issue 16's
measure: the median over claude alone), its ``cr`` with a claude that only sleeps (roam's own
work, the sleep taken off) and its hand-over (alpha's claude exit to beta's claude start).
Each timed ``cr`` starts 0.6 s after the one before, past Syncthing's 250 ms index pause
(``_SETTLE_S``).

    ROAM_CLAUDE_BIN=... .venv/bin/python -m bench.cr.versus --base /tmp/base/src [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Final

from tests.e2e.cr_support import home_of, roam_argv
from tests.support.fake_api import FakeMessagesApi
from tests.support.netns import in_namespace

from session_roam.engine.syncthing.cluster import Cluster, ClusterNode, ClusterSpec

from .run import _SPEC, STAND_IN_S, Bench, _load, _median_ms, _p95_ms, _timed, warm

#: Before each timed roam cr: past Syncthing's 250 ms pause after alpha's last index update
#: (a release, or the confirmation of beta's), which a cr started at once would wait out in its
#: acquisition, charged to whichever tree ran next (a faster start-up only waits longer).
_SETTLE_S: Final = 0.6


class Versus(Bench):
    base: str | None = None

    def env(self, node: ClusterNode, binary: Path) -> dict[str, str]:
        env = super().env(node, binary)
        if self.base is not None:
            env["PYTHONPATH"] = self.base
        return env


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--mtu", type=int, help="in a private namespace, loopback MTU (1500: a LAN)"
    )
    args = parser.parse_args()
    in_namespace("bench.cr.versus", args.mtu)
    claude = Path(os.environ["ROAM_CLAUDE_BIN"]).absolute()
    print(f"before: {_load()}, Syncthing {os.environ.get('ROAM_SYNCTHING_BIN', 'syncthing')}")
    with tempfile.TemporaryDirectory(prefix="roam-bench-vs-") as tmp:
        root = Path(tmp)
        with FakeMessagesApi() as api, Cluster(ClusterSpec.load(_SPEC), root / "c") as cluster:
            bench = Versus(cluster, api, claude, root / "work")
            alpha = cluster["alpha"]
            session = bench.driver.new(home_of(alpha), bench.cwd, "start").session_id
            cluster.wait_in_sync()
            for base in (args.base, None):
                bench.base = base
                warm(bench.env(alpha, bench.instant))
            took: dict[str, list[float]] = {"claude": [], "base": [], "this": []}
            real: dict[str, list[float]] = {"base": [], "this": []}
            hand: dict[str, list[float]] = {"base": [], "this": []}
            for i in range(args.runs):
                bench.base = None
                took["claude"].append(
                    _timed(
                        [str(claude), "-r", session, "-p", f"direct {i}"],
                        cwd=bench.cwd,
                        env=bench.env(alpha, claude),
                    )
                )
                trees = [("base", args.base), ("this", None)]
                for name, base in trees if i % 2 == 0 else trees[::-1]:  # neither always first
                    bench.base = base
                    time.sleep(_SETTLE_S)
                    real[name].append(
                        _timed(
                            roam_argv(["cr", session, "--", "-p", f"{name} {i}"]),
                            cwd=bench.cwd,
                            env=bench.env(alpha, claude),
                        )
                    )
                    time.sleep(_SETTLE_S)
                    took[name].append(
                        _timed(
                            roam_argv(["cr", session]),
                            cwd=bench.cwd,
                            env=bench.env(alpha, bench.instant),
                        )
                    )
                    hand[name].append(
                        bench._handoff_roam(session, 2 * i + (name == "this"), 0.0)[0]
                    )
                    # beta's turn must reach alpha before alpha's next timed cr (which would
                    # wait for it, charging the hand-over to whichever tree runs next)
                    bench.cluster.wait_in_sync()
            c = _median_ms(took["claude"])
            print(f"claude -r ID -p X alone: p50 {c:.0f} ms (the reference)")
            for name in ("base", "this"):
                m = _median_ms(real[name])
                print(
                    f"{name}: roam cr ID -- -p X p50 {m:.0f} / p95 {_p95_ms(real[name]):.0f} ms: "
                    f"+{m - c:.0f} ms over claude alone (goal +150 ms)"
                )
            for name in ("base", "this"):
                r, h = _median_ms(took[name]) - STAND_IN_S * 1000, _median_ms(hand[name])
                r95 = _p95_ms(took[name]) - STAND_IN_S * 1000
                print(
                    f"{name}: roam cr's own work (claude = sleep {STAND_IN_S:g}, taken off) p50 "
                    f"{r:.0f} / p95 {r95:.0f} ms ({r / c:.2f}x claude alone); hand-over p50 "
                    f"{h:.0f} / p95 "
                    f"{_p95_ms(hand[name]):.0f} ms"
                )
    print(f"after: {_load()}")


if __name__ == "__main__":
    main()
