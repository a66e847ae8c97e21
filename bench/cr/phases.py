"""Where ``roam cr`` spends its time, phase by phase, on a real Syncthing pair on 127.0.0.1.

The same set-up as ``bench.cr.run`` (alpha and beta, a session written by the real claude on
alpha, everything in sync), then ``roam cr ID`` on alpha N times with a claude that only
records when it started and exited. Each run goes through ``phase_child.py``, which times the
engine's steps; the table shows the median of each phase in milliseconds.

    ROAM_CLAUDE_BIN=/path/to/claude .venv/bin/python -m bench.cr.phases [--runs 7] [--work 1]
        [--base /tmp/base/src]

With ``--base`` (the ``src`` folder of another tree, ``git archive REV src``) each run of this
tree follows one of that tree, on the same pair, and the table has a column for each.

With ``--work S`` the stand-in works like a short claude turn: it waits S seconds, then
appends a row to the session file (so the release has new bytes to stamp and publish).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tests.e2e.cr_support import executable, home_of, roam_env
from tests.support.claude import ClaudeDriver
from tests.support.fake_api import FakeMessagesApi
from tests.support.netns import in_namespace

from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec

from .run import _STAMP_SCRIPT, as_installed, warm

if TYPE_CHECKING:
    from collections.abc import Mapping

_ROOT: Final = Path(__file__).resolve().parents[2]
_SPEC: Final = _ROOT / "fixtures" / "clusters" / "pair.toml"
_CHILD: Final = Path(__file__).resolve().with_name("phase_child.py")
_SETTLE_S: Final = 0.6
_STAMPER: Final = """#!/bin/sh
date +%s.%N > "$ROAM_BENCH_STAMP"
if [ -n "$ROAM_BENCH_WORK_S" ]; then
    sleep "$ROAM_BENCH_WORK_S"
    echo '{"type":"system","uuid":"bench-'"$$"'"}' >> "$ROAM_BENCH_SESSION_FILE"
fi
date +%s.%N > "$ROAM_BENCH_STAMP.exit"
"""


#: The last run's REST requests and sleeps: (what, start relative to claude's start, duration).
_LAST_CALLS: list[tuple[str, float, float]] = []


def _one_run(argv: list[str], cwd: Path, env: dict[str, str], work: Path) -> dict[str, float]:
    phases = work / "phases.json"
    stamp = work / "stamp"
    env = {**env, "ROAM_BENCH_PHASES": str(phases), "ROAM_BENCH_STAMP": str(stamp)}
    spawned = time.time()
    done = subprocess.run(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120
    )
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"roam cr failed ({done.returncode}):\n{done.stderr.decode()[-2000:]}")
    data = json.loads(phases.read_text())
    claude_start = float(stamp.read_text())
    claude_exit = float(Path(f"{stamp}.exit").read_text())
    row: dict[str, float] = defaultdict(float)
    row["total (spawn -> exit)"] = ended - spawned
    row["spawn -> python running"] = data["up"] - spawned
    run_cr_start = None
    for name, start, end in data["events"]:
        row[name] += end - start
        if name == "run_cr":
            run_cr_start = start
    import_end = next(end for name, _, end in data["events"] if name == "import engine.coordinate")
    if run_cr_start is not None:
        row["cli import + parse (after coordinate)"] = run_cr_start - import_end
    row["== spawn -> claude starts"] = claude_start - spawned
    row["== claude exit -> roam exit"] = ended - claude_exit
    row["interpreter teardown (atexit -> exit)"] = ended - data["exit"]
    _LAST_CALLS[:] = [
        (what, start - claude_start, end - start) for what, start, end in data["calls"]
    ]
    return row


def print_medians(
    rows: Mapping[str, list[dict[str, float]]], *, width: int, cell: str, cell_width: int
) -> None:
    """One line per phase (seconds in ``rows``), in order of first appearance: its median and
    minimum in ms (``cell`` formats the two) for each column of ``rows``."""
    names = list(dict.fromkeys(name for runs in rows.values() for row in runs for name in row))
    for name in names:
        cells = []
        for runs in rows.values():
            values = [row.get(name, 0.0) * 1000 for row in runs]
            cells.append(cell.format(statistics.median(values), min(values)))
        print(f"  {name:{width}s} " + " ".join(f"{c:>{cell_width}s}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--work", type=float, default=0.0, help="seconds the stand-in works")
    parser.add_argument("--base", help="the src folder of another tree, run interleaved")
    parser.add_argument("--real", action="store_true", help="the real claude, sent -p X")
    parser.add_argument(
        "--mtu", type=int, help="in a private namespace, loopback MTU (1500: a LAN)"
    )
    args = parser.parse_args()
    in_namespace("bench.cr.phases", args.mtu)
    claude = os.environ.get("ROAM_CLAUDE_BIN")
    if not claude:
        raise SystemExit("Set ROAM_CLAUDE_BIN to the pinned claude binary.")
    with tempfile.TemporaryDirectory(prefix="roam-bench-phases-") as tmp:
        root = Path(tmp)
        with (
            FakeMessagesApi() as api,
            Cluster(ClusterSpec.load(_SPEC), root / "cluster") as cluster,
        ):
            alpha = cluster["alpha"]
            driver = ClaudeDriver(binary=Path(claude).absolute(), base_url=api.base_url)
            cwd = root / "proj"
            cwd.mkdir()
            session = driver.new(home_of(alpha), cwd, "start").session_id
            cluster.wait_in_sync()
            stamper = executable(root / "bin" / "claude", _STAMP_SCRIPT if args.real else _STAMPER)
            env = as_installed(roam_env(driver, alpha, stamper), root / "pycache")
            env["ROAM_BENCH_REAL"] = str(Path(claude).absolute())
            if args.work:
                (session_file,) = alpha.projects_dir.glob(f"*/{session}.jsonl")
                env.update(
                    ROAM_BENCH_WORK_S=str(args.work), ROAM_BENCH_SESSION_FILE=str(session_file)
                )
            argv = [sys.executable, str(_CHILD), "cr", session]
            trees = {"this tree": env}
            if args.base:
                trees = {"base": {**env, "PYTHONPATH": args.base}, **trees}
            rows: dict[str, list[dict[str, float]]] = {tree: [] for tree in trees}
            for tree_env in trees.values():
                warm(tree_env)
            for _ in range(args.runs):  # interleaved: the load moves both alike
                for tree, tree_env in trees.items():
                    # past Syncthing's 250 ms pause after the last run's release: a run started
                    # at once waits it out in its acquisition, the faster start-up the longer
                    time.sleep(_SETTLE_S)
                    prompt = ["--", "-p", f"run {len(rows[tree])}"] if args.real else []
                    rows[tree].append(_one_run(argv + prompt, cwd, tree_env, root))
    work = f", working {args.work:g} s" if args.work else ""
    work += " around the real claude -p X" if args.real else ""
    print(f"roam cr ID, claude = a stamp script{work}, {args.runs} runs; median (min) in ms")
    print(f"  {'':40s} " + " ".join(f"{tree:>16s}" for tree in rows))
    print_medians(rows, width=40, cell="{:7.0f} ({:5.0f})", cell_width=16)
    print("The last run's REST requests and sleeps (start ms from claude's start, duration ms):")
    for what, at, took in _LAST_CALLS:
        print(f"  {at * 1000:8.1f} {took * 1000:7.1f}  {what}")


if __name__ == "__main__":
    main()
