"""``roam watch``'s engine at rest on a big folder: CPU share and memory once it has caught up.

    python -m bench.scale.watch_idle CLAUDE_DIR [--seconds 60]

Runs the ``Watcher`` (file events, the heal hook as a no-op: it needs Syncthing) in this
process, waits for its start-up catch-up to finish, then measures this process's CPU time and
peak RSS over ``--seconds`` of nothing happening. Prints one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from pathlib import Path

from session_roam.engine.conflicts.watch import Watcher


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("claude_dir", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=5.0, help="quiet time before measuring")
    args = parser.parse_args(argv)
    ready = threading.Event()
    watcher = Watcher(args.claude_dir / "projects", is_live=lambda _s: False, on_rescan=ready.set)
    thread = threading.Thread(target=watcher.run, daemon=True)
    started = time.monotonic()
    thread.start()
    ready.wait()
    caught_up = time.monotonic() - started
    time.sleep(args.settle)
    before = time.process_time()
    time.sleep(args.seconds)
    cpu = time.process_time() - before
    watcher.stop()
    thread.join(timeout=30)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "catch_up_s": round(caught_up, 2),
                "idle_s": args.seconds,
                "idle_cpu_s": round(cpu, 4),
                "idle_core_percent": round(100 * cpu / args.seconds, 3),
                "peak_rss_mb": round(peak_mb, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
