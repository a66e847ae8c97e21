"""Run ``roam`` in this process and kill it with SIGKILL at its n-th durable step.

    python -m tests.support.crash N -- conflicts merge --all
    python -m tests.support.crash replace:3 -- conflicts merge --all
    python -m tests.support.crash replace@proj/ID.jsonl:1 -- conflicts merge --all

A durable step is a call of ``os.fsync``, ``os.replace``, ``os.rename``, ``os.link`` or
``os.unlink``: the points where what is on disk changes. The process kills itself just before
step N runs (or the N-th call of the one named; with ``@SUFFIX``, the N-th call of it whose
target path ends with SUFFIX, so lease claims and backups written first do not move the
point), which is what ``kill -9`` (or a power cut) at
that instant leaves behind. With N = 0 nothing is killed and the count of steps is printed to
stderr at exit, so a test can try every point of a real run.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["STEPS", "run_roam"]

STEPS: Final = ("fsync", "replace", "rename", "link", "unlink")
_ROOT: Final = Path(__file__).resolve().parents[2]


def run_roam(
    kill_at: int | str, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``roam ARGS`` in a child process killed at ``kill_at`` (see above; 0: never)."""
    return subprocess.run(
        [sys.executable, "-m", "tests.support.crash", str(kill_at), "--", *args],
        cwd=_ROOT,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _arm(kill_at: int, only: str | None) -> list[int]:
    count = [0]
    only, _, suffix = (only or "").partition("@")
    for name in STEPS:
        if only and name != only:
            continue
        real = getattr(os, name)

        def step(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            if not suffix or str(args[-1]).endswith(suffix):
                count[0] += 1
                if count[0] == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
            return _real(*args, **kwargs)

        setattr(os, name, step)
    return count


def main(argv: list[str]) -> None:
    only, _, number = argv[0].rpartition(":")
    count = _arm(int(number), only or None)
    atexit.register(lambda: sys.stderr.write(f"durable-steps={count[0]}\n"))
    from session_roam.cli.app import app

    app(args=argv[2:], prog_name="roam")


if __name__ == "__main__":
    main(sys.argv[1:])
