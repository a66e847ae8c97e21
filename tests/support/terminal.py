"""Run a command with stdin and stderr on a pseudo-terminal and answer its question, as a
person at a terminal would (roam asks only when both are terminals)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["answer_on_a_terminal"]


def answer_on_a_terminal(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    answer: str | None,
    prompt: bytes = b"[y/N]",
    timeout_s: float = 150,
) -> tuple[str, subprocess.CompletedProcess[bytes]]:
    """Run ``argv``; once ``prompt`` shows, type ``answer`` and Enter (an empty ``answer``:
    Enter alone; None: never answer). Returns what the terminal showed and the process."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=dict(env), stdin=follower, stdout=subprocess.PIPE, stderr=follower
    )
    os.close(follower)
    seen = b""
    pending: str | None = answer
    deadline = time.monotonic() + timeout_s
    try:
        while proc.poll() is None or select.select([leader], [], [], 0)[0]:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            if not select.select([leader], [], [], 0.2)[0]:
                continue
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            seen += chunk
            if pending is not None and prompt in seen:
                os.write(leader, f"{pending}\n".encode())
                pending = None
        out, _ = proc.communicate(timeout=120)
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
    return seen.decode(errors="replace"), subprocess.CompletedProcess(argv, proc.returncode, out)
