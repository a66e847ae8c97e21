"""Names of temps that a killed roam process left, for tests of the sweep."""

from __future__ import annotations

import subprocess
import sys

from session_roam.engine.temps import TEMP_PREFIX, temp_prefix

__all__ = ["dead_pid", "dead_temp_name"]


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
