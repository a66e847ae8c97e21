"""What ``roam cr``'s journal costs on a large session, against parsing the session once.

At each launch and release ``roam cr`` journals the session (``engine.sessions.journal``):
before issue 16's change every record parsed every row of the file (and of the journal) to
keep its checkpoint's uuids, 100-190 ms each on 10 MB; now it parses only the rows written
since the last checkpoint. The reference, measured in the same run, is one parse of every row
(``record_uuids`` of the whole file): what each record used to pay at least.

    .venv/bin/python -m bench.cr.journal [--mb 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Final

from session_roam.engine.sessions.journal import Journal, record_uuids

_CORPUS: Final = (
    Path(__file__).resolve().parents[2] / "fixtures" / "corpus" / "viewer-fe5e1c67-1.0.98.jsonl"
)


def _session(mb: float) -> bytes:
    """``mb`` megabytes of the corpus session's rows, each message row under a fresh uuid."""
    rows = [json.loads(line) for line in _CORPUS.read_bytes().splitlines() if line.strip()]
    out: list[bytes] = []
    size = 0
    while size < mb * 1e6:
        for row in rows:
            if "uuid" in row:
                row = {**row, "uuid": str(uuid.uuid4())}
            line = json.dumps(row).encode()
            out.append(line)
            size += len(line) + 1
    return b"\n".join(out) + b"\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = _session(args.mb)
    sid = str(uuid.uuid4())
    launch: list[float] = []
    release: list[float] = []
    floor: list[float] = []
    with tempfile.TemporaryDirectory(prefix="roam-bench-journal-") as tmp:
        path = Path(tmp, "projects", "-p", f"{sid}.jsonl")
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        journal = Journal(Path(tmp, "journal"), node="bench")
        journal.record(path, "release", session_id=sid)  # the first checkpoint (parses all)
        for i in range(args.runs):
            started = time.perf_counter()
            record_uuids(path.read_bytes())
            floor.append(time.perf_counter() - started)
            started = time.perf_counter()
            journal.record(path, "launch", session_id=sid)
            launch.append(time.perf_counter() - started)
            row = {"type": "user", "uuid": str(uuid.uuid4()), "message": {"content": f"turn {i}"}}
            with path.open("ab") as handle:
                handle.write(json.dumps(row).encode() + b"\n")
            started = time.perf_counter()
            journal.record(path, "release", session_id=sid)
            release.append(time.perf_counter() - started)
    f, la, re_ = (statistics.median(v) * 1000 for v in (floor, launch, release))
    print(f"session {len(data) / 1e6:.1f} MB, {args.runs} runs, load {os.getloadavg()[0]:.2f}")
    print(f"  reference: one parse of every row      {f:7.1f} ms (p50)")
    print(f"  journal record at launch               {la:7.1f} ms ({la / f:.2f}x the reference)")
    print(f"  journal record at release (one turn)   {re_:7.1f} ms ({re_ / f:.2f}x the reference)")
    print(f"  goal: well under the reference; {'met' if max(la, re_) < f / 2 else 'missed'}")


if __name__ == "__main__":
    main()
