"""`roam demo` run N times in a row, each a fresh process: how many pass, and how long each took.

Each run is ``roam --json demo`` in its own process (exactly what a person runs), so imports,
the three Syncthing starts and every wait are in the figure. A failed run's message is printed
with its exit code; the script's exit status is 0 only when every run passed.

    .venv/bin/python -m bench.demo.run [--runs 30] [--roam .venv/bin/roam]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _one(roam: str) -> tuple[int, float, str]:
    started = time.monotonic()
    done = subprocess.run([roam, "--json", "demo"], capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    message = ""
    if done.returncode != 0:
        try:
            message = str(json.loads(done.stdout).get("error", {}).get("message", ""))
        except ValueError:
            message = " / ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
    return done.returncode, seconds, message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    default_roam = Path(sys.executable).with_name("roam")
    parser.add_argument("--roam", default=os.environ.get("ROAM_BIN", str(default_roam)))
    args = parser.parse_args(argv)
    times: list[float] = []
    passed = 0
    for number in range(1, args.runs + 1):
        code, seconds, message = _one(args.roam)
        times.append(seconds)
        passed += code == 0
        verdict = "ok" if code == 0 else f"FAILED (exit {code}): {message}"
        print(f"run {number:2d}/{args.runs}: {seconds:5.1f} s  {verdict}", flush=True)
    print(
        f"{passed}/{args.runs} passed; time per run min {min(times):.1f} s, "
        f"median {statistics.median(times):.1f} s, max {max(times):.1f} s "
        f"(load average {os.getloadavg()[0]:.2f} at the end)"
    )
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
