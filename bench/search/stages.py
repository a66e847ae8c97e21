"""Where a first index build's time goes, stage by stage, in MB/s of session bytes.

    python bench/search/stages.py CLAUDE_DIR      # e.g. a corpus from corpus.py or bench.scale.make

Each stage is timed as the difference between cumulative passes over every session file in one
process (read and split into lines; + the byte filter; + the JSON parse; + the text extraction),
then a full one-process build with its SQL statements timed (FTS5 insert, rows insert, commit).
CPU seconds of this process; the machine's load is printed beside them.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from session_roam.engine.core.bounded import load_record
from session_roam.engine.sessions import search_extract
from session_roam.engine.sessions.search_index import SearchIndex
from session_roam.engine.sessions.search_scan import (
    LineReader,
    record_text,
    scan_session_files,
    worth_parsing,
)


def _pass(paths: list[str], upto: int) -> float:
    started = time.process_time()
    for path in paths:
        with open(path, "rb") as handle:
            for line in LineReader(handle):
                if upto < 2 or not worth_parsing(line) or upto < 3:
                    continue
                row = load_record(line)
                if upto < 4 or not isinstance(row, dict):
                    continue
                record_text(row)
    return time.process_time() - started


class _Timed:
    """A connection whose statements are timed by their first words."""

    def __init__(self, db: Any, timers: dict[str, float]) -> None:
        self.db, self.timers = db, timers

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    def _timed(self, sql: str, call: Any, *args: Any) -> Any:
        key = " ".join(sql.split()[:3])
        started = time.process_time()
        try:
            return call(sql, *args)
        finally:
            self.timers[key] = self.timers.get(key, 0.0) + time.process_time() - started

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed(sql, self.db.execute, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._timed(sql, self.db.executemany, *args)


def main() -> int:
    root = Path(sys.argv[1]) / "projects"
    changed, _seen = scan_session_files(root)
    paths = [item.path for item in changed]
    mb = sum(item.size for item in changed) / 2**20
    print(f"{len(paths)} session files, {mb:.0f} MB; load {os.getloadavg()[0]:.2f}")
    before = 0.0
    for upto, stage in (
        (1, "read + split lines"),
        (2, "+ byte filter"),
        (3, "+ JSON parse"),
        (4, "+ text extraction"),
    ):
        took = _pass(paths, upto)
        step = max(took - before, 1e-9)
        print(f"  {stage:<22} {step:6.2f} s CPU = {mb / step:7.0f} MB/s")
        before = took
    search_extract._POOL_BYTES = 2**62  # one process: every stage in this one
    timers: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        index = SearchIndex(Path(scratch) / "index.sqlite3")
        index._db = _Timed(index._db, timers)  # type: ignore[assignment]
        started = time.process_time()
        index.refresh(root)
        total = time.process_time() - started
        index.close()
    for key, took in sorted(timers.items(), key=lambda item: -item[1])[:4]:
        print(f"  SQL {key:<24} {took:6.2f} s CPU = {mb / max(took, 1e-9):7.0f} MB/s")
    print(
        f"  whole build, one process {total:6.2f} s CPU = {mb / total:7.0f} MB/s; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
