"""Holding a lease for a plain ``claude`` started without ``roam cr``, from its hooks.

A hook process lives for milliseconds, but a lease must be renewed for as long as claude runs
and released even when claude is killed (SessionEnd never comes then). So the SessionStart hook
starts a small detached keeper, ``roam hooks run keep``: it takes the lease, reports back on a
pipe (``ok`` or the sentence saying who holds the session), and then renews until claude's
process is gone, when it releases with a stamp of the file as claude left it. The SessionEnd
hook sends the keeper SIGUSR1 ("claude is finishing"): it then releases as soon as claude exits,
or after a short grace period. The keeper never holds claude's stdout/stderr, so claude does not
wait for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import atomic_write
from session_roam.engine.core.paths import validate_session_id
from session_roam.engine.core.procs import pid_alive
from session_roam.errors import RoamError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from session_roam.engine.claude.hookrun import HookPayload

__all__ = [
    "END_GRACE_S",
    "KeeperRecord",
    "ProcessKeeper",
    "claude_pid_of_hook",
    "keep",
    "report_to_stdout",
]

#: After SessionEnd, how long the keeper waits for claude to exit before releasing anyway.
END_GRACE_S: Final = 5.0
_REPORT_TIMEOUT_S: Final = 15.0
_POLL_S: Final = 0.2
log = logging.getLogger(__name__)

_L = TypeVar("_L")
_SHELLS: Final = frozenset({"sh", "bash", "dash", "zsh", "fish", "ksh"})


@dataclass(frozen=True, slots=True)
class KeeperRecord:
    """Where a running keeper can be found (roam's state folder, never synced)."""

    session_id: str
    keeper_pid: int
    claude_pid: int


def _parent_and_name(pid: int) -> tuple[int, str]:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        return int(stat[stat.rindex(")") + 2 :].split()[1]), name
    except (OSError, ValueError, IndexError):
        pass
    try:  # macOS and other systems without /proc
        out = subprocess.run(
            ["ps", "-o", "ppid=,comm=", "-p", str(pid)],
            capture_output=True,
            text=True,
            check=False,
            timeout=2,
        ).stdout.split(None, 1)
        return int(out[0]), Path(out[1].strip()).name if len(out) > 1 else ""
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return 0, ""


def claude_pid_of_hook() -> int:
    """The claude process that ran this hook.

    Claude Code 2.1.x tells its hooks (``CLAUDE_PID``); otherwise it is our parent, or the
    parent's parent when the parent is the shell that ran the hook command.
    """
    with contextlib.suppress(ValueError):
        told = int(os.environ.get("CLAUDE_PID", "0"))
        if told > 0 and pid_alive(told):
            return told
    parent = os.getppid()
    _, name = _parent_and_name(parent)
    if name in _SHELLS:
        grandparent, _ = _parent_and_name(parent)
        return grandparent or parent
    return parent


def _records_dir() -> Path:
    folder = xdg.state_dir() / "keepers"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _record_path(session_id: str) -> Path:
    return _records_dir() / f"{validate_session_id(session_id)}.json"


def _load_record(session_id: str) -> KeeperRecord | None:
    try:
        data = json.loads(_record_path(session_id).read_text())
        return KeeperRecord(
            str(data["session_id"]), int(data["keeper_pid"]), int(data["claude_pid"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class ProcessKeeper:
    """The ``LeaseKeeper`` of ``engine.hookrun``: starts and stops keeper processes."""

    def __init__(self, keeper_argv: Sequence[str]) -> None:
        self._argv = list(keeper_argv)

    def claim(self, payload: HookPayload, claude_pid: int) -> str | None:
        existing = _load_record(payload.session_id)
        if existing is not None and pid_alive(existing.keeper_pid):
            if existing.claude_pid == claude_pid:
                return None  # SessionStart again for the same run (e.g. after /compact)
            with contextlib.suppress(ProcessLookupError):
                os.kill(existing.keeper_pid, signal.SIGUSR1)
        argv = [
            *self._argv,
            "--session",
            payload.session_id,
            "--pid",
            str(claude_pid),
            "--transcript",
            str(payload.transcript_path),
        ]
        report = _spawn_and_read(argv, _records_dir() / f"{payload.session_id}.log")
        if report == "ok":
            return None
        if not report:
            return (
                f"roam: could not confirm the lease on session {payload.session_id} within "
                f"{_REPORT_TIMEOUT_S:g} s; another machine may be writing it too."
            )
        return f"roam: WARNING: {report} Two machines writing one session make conflict copies."

    def release(self, payload: HookPayload) -> None:
        record = _load_record(payload.session_id)
        if record is not None and pid_alive(record.keeper_pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(record.keeper_pid, signal.SIGUSR1)


def _spawn_and_read(argv: Sequence[str], log_path: Path) -> str:
    """Start the keeper in a session of its own and read its one-line report.

    ``posix_spawn`` rather than ``Popen``: the keeper outlives this hook process on purpose, and
    a Popen object would complain at exit about a child it never waited for.
    """
    read_fd, write_fd = os.pipe()
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, write_fd, 1),
        (os.POSIX_SPAWN_OPEN, 2, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
        (os.POSIX_SPAWN_CLOSE, read_fd),
        (os.POSIX_SPAWN_CLOSE, write_fd),
    ]
    try:
        pid = os.posix_spawn(
            argv[0], list(argv), dict(os.environ), file_actions=actions, setsid=True
        )
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return ""
    os.close(write_fd)
    try:
        return _read_line(read_fd, _REPORT_TIMEOUT_S)
    finally:
        os.close(read_fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap a keeper that already finished (it refused)


def _read_line(fd: int, timeout_s: float) -> str:
    data = b""
    deadline = time.monotonic() + timeout_s
    while b"\n" not in data and (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").strip()


def keep(
    session_id: str,
    claude_pid: int,
    transcript: Path,
    *,
    acquire: Callable[[str, Path], _L],
    release: Callable[[_L], None],
    report: Callable[[str], None],
) -> int:
    """The keeper's life: take the lease, report, hold it while claude lives, release."""
    sid = validate_session_id(session_id)
    try:
        lease = acquire(sid, transcript)
    except RoamError as exc:
        log.warning("could not take the lease on %s: %s", sid, exc.message)
        report(exc.message)
        return 0
    ending = threading.Event()
    previous = {
        signal.SIGUSR1: signal.signal(signal.SIGUSR1, lambda _s, _f: ending.set()),
        signal.SIGTERM: signal.signal(signal.SIGTERM, lambda _s, _f: ending.set()),
        # The terminal closing is claude's business; the keeper outlives it to release.
        signal.SIGHUP: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    }
    atomic_write(
        _record_path(sid),
        json.dumps(
            {"session_id": sid, "keeper_pid": os.getpid(), "claude_pid": claude_pid}
        ).encode(),
        mode=0o600,
    )
    report("ok")
    try:
        while pid_alive(claude_pid) and not ending.wait(_POLL_S):
            pass
        grace_end = time.monotonic() + END_GRACE_S
        while pid_alive(claude_pid) and time.monotonic() < grace_end:
            time.sleep(_POLL_S)
    finally:
        release(lease)
        record = _load_record(sid)
        if record is not None and record.keeper_pid == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                _record_path(sid).unlink()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def report_to_stdout(line: str) -> None:
    """The keeper's one report to the hook that started it; then stdout is closed for good."""
    with contextlib.suppress(OSError):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        # Point fd 1 at /dev/null rather than closing it: the pipe to the hook closes, and
        # Python's own flush at exit still has somewhere harmless to write.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
