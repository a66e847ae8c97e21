"""A first index build alone, timed: wall, writer and worker CPU, and the write lock held.

    python bench/search/build.py CLAUDE_DIR [--runs N]   # e.g. a corpus from corpus.py

Each run builds a fresh index of CLAUDE_DIR/projects in a temp dir, as `roam cf` does on first
use (parsing in worker processes), and prints its seconds per GB with the goal verdict (<= 10 s),
the CPU seconds of this process (the writer) and of the workers, the longest time the write lock
was held at once, and the load average at the start. The median run is the headline.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from session_roam.engine.sessions.search_index import SearchIndex


class _LockClock:
    """A connection that notes when each write transaction starts and ends."""

    def __init__(self, db: Any, held: list[float]) -> None:
        self.db, self.held, self.since = db, held, 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    def execute(self, sql: str, *args: Any) -> Any:
        result = self.db.execute(sql, *args)
        if sql.startswith("BEGIN"):
            self.since = time.perf_counter()
        elif sql.startswith("COMMIT"):
            self.held.append(time.perf_counter() - self.since)
        return result


def _cpu() -> tuple[float, float]:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def build_once(root: Path) -> tuple[float, float, float, float, list[float], int]:
    with tempfile.TemporaryDirectory() as scratch:
        index = SearchIndex(Path(scratch) / "index.sqlite3")
        held: list[float] = []
        index._db = _LockClock(index._db, held)  # type: ignore[assignment]
        load = os.getloadavg()[0]
        writer0, workers0 = _cpu()
        start = time.perf_counter()
        stats = index.refresh(root)
        wall = time.perf_counter() - start
        writer1, workers1 = _cpu()
        index.close()
    return wall, writer1 - writer0, workers1 - workers0, load, held, stats.bytes_read


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("claude_dir", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = args.claude_dir / "projects"
    per_gb: list[float] = []
    for _ in range(args.runs):
        wall, writer, workers, load, held, read = build_once(root)
        gb = read / 2**30
        per_gb.append(wall / gb)
        print(
            f"first build: {read / 2**20:.0f} MB in {wall:.1f} s = {wall / gb:.1f} s per GB; "
            f"CPU writer {writer:.1f} s, workers {workers:.1f} s; write lock held "
            f"{len(held)}x, longest {max(held):.2f} s; load {load:.1f}",
            flush=True,
        )
    median = statistics.median(per_gb)
    print(f"median {median:.1f} s per GB (goal <= 10 s: {'met' if median <= 10 else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
