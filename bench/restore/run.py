"""Measure the deletion policy's local costs: the archive, and ``roam restore`` after a wipe.

For N sessions (a transcript and one companion file each, ``--kb`` per transcript) it times:
the first archive refresh (one hard link per file), a refresh with nothing changed (what
``roam cr`` pays before each start), the space the archive takes while the sessions exist and
after they are wiped, and ``restore`` of every session from the archive (no Syncthing).

    .venv/bin/python -m bench.restore.run              # 1000 sessions of 50 KB
    .venv/bin/python -m bench.restore.run --sessions 100 --kb 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from session_roam.engine.deletions.archive import refresh_archive
from session_roam.engine.deletions.restore import restore


def _make(projects: Path, sessions: int, kb: int) -> int:
    line = (json.dumps({"type": "user", "message": {"content": "x" * 900}}) + "\n").encode()
    body = line * max(1, kb * 1024 // len(line))
    for index in range(sessions):
        slug = projects / f"-home-user-proj{index % 20}"
        session = str(uuid.uuid4())
        (slug / session / "tool-results").mkdir(parents=True, exist_ok=True)
        (slug / f"{session}.jsonl").write_bytes(body)
        (slug / session / "tool-results" / "r.txt").write_bytes(b"tool output\n" * 10)
    return sessions * 2


def _disk_bytes(root: Path, exclude_inodes: set[int]) -> int:
    """Blocks of the files under ``root`` whose inode is not also reachable elsewhere."""
    used = 0
    for path in root.rglob("*"):
        info = path.lstat()
        if path.is_file() and info.st_ino not in exclude_inodes:
            used += info.st_blocks * 512
    return used


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--kb", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roam-bench-restore-") as scratch:
        root = Path(scratch)
        os.environ["XDG_STATE_HOME"] = str(root / "state")
        projects = root / "projects"
        files = _make(projects, args.sessions, args.kb)
        synced = sum(p.stat().st_size for p in projects.rglob("*") if p.is_file())
        started = time.perf_counter()
        refresh_archive(projects)
        first = time.perf_counter() - started
        started = time.perf_counter()
        refresh_archive(projects)
        again = time.perf_counter() - started
        archive = root / "state" / "session-roam" / "archive"
        live_inodes = {p.stat().st_ino for p in projects.rglob("*") if p.is_file()}
        extra_live = _disk_bytes(archive, live_inodes)
        for child in projects.iterdir():
            shutil.rmtree(child)
        extra_wiped = _disk_bytes(archive, set())
        started = time.perf_counter()
        done = restore(projects, session=None)
        took = time.perf_counter() - started
        assert len(done.restored) == files, (len(done.restored), files)
    print(
        json.dumps(
            {
                "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
                "sessions": args.sessions,
                "files": files,
                "synced_bytes": synced,
                "archive_first_refresh_s": round(first, 3),
                "archive_refresh_unchanged_s": round(again, 3),
                "archive_extra_disk_bytes_while_sessions_exist": extra_live,
                "archive_disk_bytes_after_wipe": extra_wiped,
                "restore_all_s": round(took, 3),
                "restore_files_per_s": round(files / took),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
