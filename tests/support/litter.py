"""What a killed or an older roam left behind: dead temps, backups made before the store."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from typing import TYPE_CHECKING

from session_roam.engine.core.backup import backups_root
from session_roam.engine.core.temps import TEMP_PREFIX, temp_prefix

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["dead_pid", "dead_temp_name", "legacy_backup"]


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def dead_temp_name(tail: str = "x.tmp", *, pid: int | None = None, start: int = 0) -> str:
    """A temp name as this host's process ``pid`` (default: a dead one) would have made it."""
    host = temp_prefix().removeprefix(TEMP_PREFIX).split("-")[0]
    owner = dead_pid() if pid is None else pid
    return f"{TEMP_PREFIX}{host}-{owner}-{start}-{tail}"


def legacy_backup(session_id: str, stamp: str, data: bytes, project_dir: Path) -> Path:
    """A merge backup of ``<session_id>.jsonl`` as roam wrote it before the store: plain files."""
    folder = backups_root() / session_id / stamp
    (folder / "files").mkdir(parents=True)
    (folder / "files" / f"{session_id}.jsonl").write_bytes(data)
    entry = {
        "relative": f"{session_id}.jsonl",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "mode": 0o600,
    }
    created = f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:00+00:00"
    manifest = {
        "schema": "roam.backup/1",
        "session_id": session_id,
        "project_dir": str(project_dir),
        "created": created,
        "files": [entry],
        "details": {"kind": "merge"},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder
