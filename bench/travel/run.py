"""Measure what carrying companions costs ``roam cr``, and ``roam export``/``roam import``.

One session of ``--mb`` MB (every row carrying a plan slug, the worst case for finding it) with
``--snapshots`` file-history snapshots of ``--kb`` KB and a plan. Times: reading the session
(the reference), the first ``carry`` (after claude exits), an unchanged ``carry`` and an
unchanged ``place`` (what each ``roam cr`` pays when nothing changed), the export, the import's
read-and-check and its placing (every write atomic and fsynced).

    .venv/bin/python -m bench.travel.run
    .venv/bin/python -m bench.travel.run --mb 10 --snapshots 2000 --kb 5
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


def _timed(label: str, action: Callable[[], object], into: dict[str, float]) -> object:
    started = time.perf_counter()
    result = action()
    into[label] = round(time.perf_counter() - started, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--snapshots", type=int, default=500)
    parser.add_argument("--kb", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roam-bench-travel-") as scratch:
        root = Path(scratch)
        os.environ["XDG_STATE_HOME"] = str(root / "state")
        from session_roam.engine.travel.bundle import export_session
        from session_roam.engine.travel.carry import carry, place
        from session_roam.engine.travel.unbundle import import_session, read_bundle

        config, sid = root / "a", str(uuid.uuid4())
        project = config / "projects" / "-p"
        project.mkdir(parents=True)
        row = {"type": "user", "cwd": "/p", "sessionId": sid, "slug": "bright-pelican"}
        line = (json.dumps({**row, "message": {"content": "y" * 5000}}) + "\n").encode()
        session = project / f"{sid}.jsonl"
        session.write_bytes(line * max(1, args.mb * 1024 * 1024 // len(line)))
        history = config / "file-history" / sid
        history.mkdir(parents=True)
        for index in range(args.snapshots):
            (history / f"{index:016x}@v1").write_bytes(os.urandom(args.kb * 1024))
        (config / "plans").mkdir()
        (config / "plans" / "bright-pelican.md").write_text("# plan\n")
        seconds: dict[str, float] = {}
        _timed("read the session (reference)", session.read_bytes, seconds)
        _timed("carry, first", lambda: carry(session, config, sid), seconds)
        _timed("carry, unchanged", lambda: carry(session, config, sid), seconds)
        _timed("place, unchanged", lambda: place(session, config, sid), seconds)
        out = root / "x.roam.tgz"
        _timed("export", lambda: export_session(session, sid, config, out), seconds)
        bundle = _timed("import: read and check", lambda: read_bundle(out), seconds)
        other = root / "b"
        _timed(
            "import: write and place",
            lambda: import_session(bundle, other / "projects" / "-q", other),  # type: ignore[arg-type]
            seconds,
        )
        report = {"args": vars(args), "export_bytes": out.stat().st_size, "seconds": seconds}
        report["load_average"] = os.getloadavg()
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
