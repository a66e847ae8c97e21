"""``roam watch`` keeps the cr server (``cli.crserver``) running while it runs.

The server is a process of its own (the watch has watchdog threads, and a forking process must
have none), in a session of its own (a Ctrl-C at the watch's terminal is the watch's to handle),
restarted when it ends: at once when the installed code changed under it, after a growing pause
when it failed. Stopping the watch stops the server; the ``roam cr`` it is serving go on, each
in a session of its own (docs/design/cr-server.md).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Final

from session_roam.cli.crserver import EXIT_STALE, EXIT_UNSERVED
from session_roam.cli.crwire import DISABLE_ENV, socket_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["CrServerSupervisor", "cr_server_running"]

_FIRST_PAUSE_S: Final = 1.0
_LONGEST_PAUSE_S: Final = 60.0
_STOP_S: Final = 5.0


class CrServerSupervisor:
    """One server process at a time, restarted until ``stop``."""

    def __init__(self, report: Callable[[str], None]) -> None:
        self._report = report
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="roam-cr-server", daemon=True)

    @property
    def pid(self) -> int | None:
        """The running server's pid (tests and ``roam watch --verbose``)."""
        with self._lock:
            return None if self._process is None else self._process.pid

    def start(self) -> None:
        self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if self._stopping.is_set():
                return None
            argv = [sys.executable, "-m", "session_roam.cli.crserver", "--parent", str(os.getpid())]
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
            )
            return self._process

    def _run(self) -> None:
        pause = _FIRST_PAUSE_S
        while True:
            try:
                process = self._spawn()
            except OSError as exc:
                self._report(f"cr server: could not start it ({exc.strerror})")
                return
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            if code == EXIT_UNSERVED:
                self._report("cr server: not serving (see the line above, or no SO_PEERCRED)")
                return
            if code == EXIT_STALE:
                continue  # roam was upgraded: serve the new code at once
            self._report(f"cr server: ended with status {code}; starting it again")
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, _LONGEST_PAUSE_S)

    def stop(self) -> None:
        """End the server (its served children go on) and the thread that restarts it."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_STOP_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout=_STOP_S)


def _unit_kills_children() -> bool:
    """True when this watch is the systemd unit of an older ``roam watch install`` (without
    ``KillMode=process``): stopping it would kill every ``roam cr`` its server forked."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as groups:
            if "/roam-watch.service" not in groups.read():
                return False
        shown = subprocess.run(
            ["systemctl", "--user", "show", "--property=KillMode", "--value", "roam-watch.service"],
            capture_output=True,
            text=True,
            timeout=_STOP_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return shown.stdout.strip() not in ("process", "")


@contextlib.contextmanager
def cr_server_running(report: Callable[[str], None]) -> Iterator[CrServerSupervisor | None]:
    """The supervised server for the block's length; None where there is none to run
    (``ROAM_CR_SERVER=0``, or no private place for its socket)."""
    if os.environ.get(DISABLE_ENV, "") == "0" or socket_path(os.environ) is None:
        yield None
        return
    if _unit_kills_children():
        report(
            "cr server: not started, this unit would kill served `roam cr` on a restart; run "
            "`roam watch install` again, then `systemctl --user restart roam-watch`"
        )
        yield None
        return
    supervisor = CrServerSupervisor(report)
    supervisor.start()
    try:
        yield supervisor
    finally:
        supervisor.stop()
