"""What a first build's write lock does to others: a query, a watcher refresh, a second `roam cf`.

    python bench/search/lock.py CLAUDE_DIR     # e.g. a corpus from corpus.py

A first build of CLAUDE_DIR/projects runs in a child process; one second in, this process
times (1) a read of the index as the warm `roam cf` does it (WAL: readers never wait),
(2) `refresh_search_index` for one file, as `roam watch` calls it, and (3) `search_sessions`,
what `roam cf` runs, each with what it answered or raised; then the build's own time.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from session_roam.engine.sessions.search import refresh_search_index, search_sessions
from session_roam.engine.sessions.search_index import INDEX_NAME, SearchIndex
from session_roam.engine.sessions.search_query import run_query


def _build(root: Path, cache: Path) -> None:
    started = time.perf_counter()
    with SearchIndex(cache / INDEX_NAME) as index:
        index.refresh(root)
    print(f"  the first build itself: {time.perf_counter() - started:.1f} s", flush=True)


def _timed(label: str, call: object) -> None:
    started = time.perf_counter()
    try:
        answer = repr(call())[:60]  # type: ignore[operator]
    except sqlite3.Error as error:
        answer = f"raised {type(error).__name__}: {error}"
    print(f"  {label}: {time.perf_counter() - started:.2f} s, {answer}", flush=True)


def main() -> int:
    root = Path(sys.argv[1]) / "projects"
    one = next(root.rglob("*.jsonl"))
    print(f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch)
        child = multiprocessing.get_context("fork").Process(target=_build, args=(root, cache))
        child.start()
        time.sleep(1.0)

        def read() -> object:
            db = sqlite3.connect(f"file:{cache / INDEX_NAME}?mode=ro", uri=True)
            try:
                return len(run_query(db, "function", None, 20))
            finally:
                db.close()

        _timed("read (warm query's lookup)", read)
        _timed("watcher refresh of one file", lambda: refresh_search_index(root, [one], cache))
        _timed(
            "roam cf (search_sessions)",
            lambda: len(search_sessions(["function"], projects_root=root, cache_dir=cache).matches),
        )
        child.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
