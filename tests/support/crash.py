"""Run ``roam`` in this process and kill it with SIGKILL at its n-th durable step.

    python -m tests.support.crash N -- conflicts merge --all

A durable step is a call of ``os.fsync``, ``os.replace``, ``os.rename``, ``os.link`` or
``os.unlink``: the points where what is on disk changes. The process kills itself just before
step N runs, which is what ``kill -9`` (or a power cut) at that instant leaves behind. With N = 0
nothing is killed and the count of steps is printed to stderr at exit, so a test can try every
point of a real run.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from typing import Any, Final

STEPS: Final = ("fsync", "replace", "rename", "link", "unlink")


def _arm(kill_at: int) -> list[int]:
    count = [0]
    for name in STEPS:
        real = getattr(os, name)

        def step(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            count[0] += 1
            if count[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return _real(*args, **kwargs)

        setattr(os, name, step)
    return count


def main(argv: list[str]) -> None:
    kill_at = int(argv[0])
    count = _arm(kill_at)
    atexit.register(lambda: sys.stderr.write(f"durable-steps={count[0]}\n"))
    from session_roam.cli.app import app

    app(args=argv[2:], prog_name="roam")


if __name__ == "__main__":
    main(sys.argv[1:])
