"""What the backup store costs when one merge is repeated, and how long a prune takes.

A generated pair of session versions (``bench.merge.run.generate``: a main file and its
conflict copy, ``--mb`` MB in total) is merged, undone and merged again ``--repeat`` times: each
merge backs up the same originals, as a killed merge and its re-run do. The store's size is
what ``du`` reports (on-disk blocks, each inode once). Then the store is pruned with every
backup beyond the bound, and pruned again with nothing to do.

    .venv/bin/python -m bench.backups.run --mb 200 --repeat 3
    PYTHONPATH=/tmp/before/src .venv/bin/python -m bench.backups.run --no-prune   # older roam

Each run uses a fresh HOME and XDG state folder under a temp folder.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import stat
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_SESSION = "be0c4b00-0000-4000-8000-000000000000"
_STAMP = "20261125-131239-MRUWJBM"


def _du(root: Path) -> int:
    seen: dict[tuple[int, int], int] = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            info = os.lstat(os.path.join(folder, name))
            if stat.S_ISREG(info.st_mode):
                seen[(info.st_dev, info.st_ino)] = info.st_blocks * 512
    return sum(seen.values())


def _run(work: Path, megabytes: int, repeat: int, prune: bool) -> dict[str, Any]:
    os.environ.update(
        HOME=str(work / "home"),
        XDG_STATE_HOME=str(work / "state"),
        XDG_CONFIG_HOME=str(work / "config"),
        CLAUDE_CONFIG_DIR=str(work / "claude"),
    )
    from session_roam.engine.conflicts.merging import merge_session, undo_session
    from session_roam.engine.core.backup import backups_root
    from session_roam.engine.core.store import find_session_files

    projects = work / "claude" / "projects"
    project = projects / "-home-u-proj"
    project.mkdir(parents=True)
    # The merge bench's generator, imported by name: mypy maps each bench/ folder as a package
    # of its own, so a static ``bench.merge.run`` import would be the same file twice.
    generate = importlib.import_module("bench.merge.run").generate
    main, copy = generate(work, megabytes, "conflict")
    main.rename(project / f"{_SESSION}.jsonl")
    copy.rename(project / f"{_SESSION}.sync-conflict-{_STAMP}.jsonl")
    pair = sum(p.stat().st_size for p in project.iterdir())
    sizes, merge_s = [], []
    for n in range(repeat):
        started = time.monotonic()
        merge_session(find_session_files(project, _SESSION))
        merge_s.append(round(time.monotonic() - started, 2))
        sizes.append(_du(backups_root()))
        if n < repeat - 1:
            undo_session(_SESSION, projects)
    result: dict[str, Any] = {
        "pair_bytes": pair,
        "merges": repeat,
        "store_bytes_after_each_merge": sizes,
        "merge_seconds": merge_s,
    }
    if prune:
        from session_roam.engine.core.backup_bound import BackupBound
        from session_roam.engine.core.backup_bound import prune as prune_store

        later = datetime.now(UTC) + timedelta(days=365)
        idle = prune_store(BackupBound(), now=datetime.now(UTC))
        full = prune_store(BackupBound(), now=later)
        result |= {
            "prune_nothing_to_do_seconds": round(idle.seconds, 4),
            "prune_everything_seconds": round(full.seconds, 4),
            "pruned_backups": len(full.beyond),
            "freed_bytes": full.beyond_bytes,
            "store_bytes_after_prune": _du(backups_root()),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the pair in MB")
    parser.add_argument("--repeat", type=int, default=3, help="merges of the same bytes")
    parser.add_argument("--no-prune", action="store_true", help="for a roam without the bound")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="roam-bench-backups-"))
    try:
        print(json.dumps(_run(work, args.mb, args.repeat, not args.no_prune), indent=2))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
