"""Starting and stopping a Syncthing process that roam supervises.

``syncthing serve`` always forks: the PID we hold is a small monitor whose child is the real
node. The node is started in its own session (process group), so stopping can fall back from
REST shutdown to SIGTERM and then SIGKILL of the whole group, and no test ever leaks a node.
Output goes to a log file rather than ``--logfile``, whose spelling changed in 2.x.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

from session_roam.engine.core.procs import pid_alive
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import read_config
from session_roam.engine.syncthing.version import check_can_read_config, serve_argv
from session_roam.errors import RoamError, SyncthingError, SyncthingMissing, SyncthingUnreachable

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "PID_FILE",
    "START_ENV",
    "SyncthingProcess",
    "find_syncthing_binary",
    "serve_argv",
    "spawn_detached",
    "stop_pid",
]

log = logging.getLogger(__name__)

#: Belt and braces next to the flags: no upgrades, no default folder, no self-restarts, and no
#: SHA-256 self-benchmark at start (1.4 s -> 0.5 s to REST-ready).
START_ENV: Final[dict[str, str]] = {
    "STNOUPGRADE": "1",
    "STNODEFAULTFOLDER": "1",
    "STNORESTART": "1",
    "STHASHING": "standard",
}
#: Written next to config.xml for nodes roam started in the background.
PID_FILE: Final = "roam-syncthing.pid"
_STOP_WAIT_S: Final = 10.0


def find_syncthing_binary() -> str:
    """The syncthing executable: ROAM_SYNCTHING_BIN, else the first one on PATH.

    A ROAM_SYNCTHING_BIN that names no executable is an error, never a silent fall-back to PATH:
    the variable is how a user (and the test suite) pins one Syncthing, and running another one
    on its config can leave a config the pinned one cannot read. Empty means unset.
    """
    explicit = os.environ.get("ROAM_SYNCTHING_BIN")
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise SyncthingMissing(
                f"ROAM_SYNCTHING_BIN names {explicit}, which is not an executable file.",
                hint="Point ROAM_SYNCTHING_BIN at a syncthing binary, or unset it to use PATH.",
            )
        return explicit
    found = shutil.which("syncthing")
    if found is None:
        raise SyncthingMissing("Syncthing is not installed: there is no `syncthing` on PATH.")
    return found


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STGUIAPIKEY"}
    env.update(START_ENV)
    return env


class SyncthingProcess:
    """A node we started and will stop: ``with SyncthingProcess(home).start() as node: ...``."""

    def __init__(
        self,
        home: Path,
        *,
        binary: str | None = None,
        log_path: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.home = home
        self._extra_env = dict(env or {})
        self.binary = binary or find_syncthing_binary()
        self.log_path = log_path or home / "syncthing.log"
        self._popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._client: SyncthingClient | None = None

    def __repr__(self) -> str:
        return f"SyncthingProcess(home={str(self.home)!r}, pid={self.pid})"

    def __enter__(self) -> SyncthingProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def client(self) -> SyncthingClient:
        if self._client is None:
            config = read_config(self.home)
            self._client = SyncthingClient(config.base_url, config.api_key)
        return self._client

    def launch(self) -> SyncthingProcess:
        """Spawn without waiting; pair with ``wait_ready`` to start several nodes at once."""
        check_can_read_config(self.binary, self.home)
        self._log = self.log_path.open("ab")
        self._popen = subprocess.Popen(
            serve_argv(self.binary, self.home),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**_environment(), **self._extra_env},
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout_s: float = 30.0) -> SyncthingProcess:
        """Block until the REST API answers; fail fast if the process died instead."""
        popen = self._popen
        if popen is None:
            raise SyncthingError(f"Syncthing in {self.home} was never started.")

        def probe() -> None:
            if (code := popen.poll()) is not None:
                raise SyncthingError(
                    f"Syncthing in {self.home} exited with code {code} while starting; "
                    f"see {self.log_path}."
                )
            self.client.ping()

        import tenacity  # only when a node starts: not on roam cr's path

        try:
            for attempt in tenacity.Retrying(
                retry=tenacity.retry_if_exception_type(SyncthingUnreachable),
                stop=tenacity.stop_after_delay(timeout_s),
                wait=tenacity.wait_fixed(0.1),
                reraise=True,
            ):
                with attempt:
                    probe()
        except SyncthingUnreachable as exc:
            raise SyncthingUnreachable(
                f"Syncthing in {self.home} did not answer within {timeout_s:g} s; "
                f"see {self.log_path}."
            ) from exc
        return self

    def start(self, timeout_s: float = 30.0) -> SyncthingProcess:
        return self.launch().wait_ready(timeout_s)

    def stop(self, timeout_s: float = _STOP_WAIT_S) -> None:
        """REST shutdown, then SIGTERM, then SIGKILL of the process group. Safe to call twice."""
        popen, self._popen = self._popen, None
        try:
            if popen is not None and popen.poll() is None:
                with contextlib.suppress(SyncthingError):
                    self.client.shutdown()
                try:
                    popen.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    _kill_group(popen.pid, signal.SIGTERM)
                    try:
                        popen.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        _kill_group(popen.pid, signal.SIGKILL)
                        popen.wait()
            if popen is not None:
                # the node itself may outlive a dead monitor; the group reaches it
                _kill_group(popen.pid, signal.SIGKILL)
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._log is not None:
                self._log.close()
                self._log = None


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def spawn_detached(binary: str, home: Path, log_path: Path) -> int:
    """Start a node that outlives roam (``roam setup`` without systemd); returns the monitor PID.

    ``posix_spawn`` with ``setsid`` leaves no ``Popen`` object behind to warn about a child
    still running when roam exits; the PID goes to ``PID_FILE`` for ``stop_pid``.
    """
    check_can_read_config(binary, home)
    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        pid = os.posix_spawn(
            binary,
            serve_argv(binary, home),
            _environment(),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, fd, 1),
                (os.POSIX_SPAWN_DUP2, fd, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(fd)
    pid_path = home / PID_FILE
    pid_path.write_text(f"{pid}\n")
    pid_path.chmod(0o600)
    return pid


def stop_pid(home: Path, timeout_s: float = _STOP_WAIT_S) -> None:
    """Stop a node started by ``spawn_detached`` (REST shutdown, then its process group)."""
    pid_path = home / PID_FILE
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return
    if not _is_our_node(pid, home):  # long gone, and the PID may belong to someone else now
        pid_path.unlink(missing_ok=True)
        return
    with contextlib.suppress(RoamError), _client_for(home) as client:
        client.shutdown()
    if _wait_gone(pid, timeout_s):
        _kill_group(pid, signal.SIGTERM)
        if _wait_gone(pid, 5.0):
            _kill_group(pid, signal.SIGKILL)
    _reap(pid)
    _kill_group(pid, signal.SIGKILL)
    pid_path.unlink(missing_ok=True)


def _is_our_node(pid: int, home: Path) -> bool:
    """Whether ``pid`` is still a syncthing serving ``home`` (guards against PID reuse)."""
    _reap(pid)
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        command = [a.decode(errors="replace") for a in argv]
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): ask ps
        try:
            done = subprocess.run(
                ["ps", "-p", str(pid), "-o", "command="],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        command = done.stdout.split()
    return f"--home={home}" in command and any("syncthing" in a for a in command[:1])


def _wait_gone(pid: int, timeout_s: float) -> bool:
    """Wait for ``pid`` to exit; True when it is still alive at the deadline."""
    import tenacity

    still_alive: bool = tenacity.Retrying(
        retry=tenacity.retry_if_result(bool),
        stop=tenacity.stop_after_delay(timeout_s),
        wait=tenacity.wait_fixed(0.05),
        retry_error_callback=lambda _state: True,
    )(_alive, pid)
    return still_alive


def _client_for(home: Path) -> SyncthingClient:
    config = read_config(home)
    return SyncthingClient(config.base_url, config.api_key, timeout=3.0)


def _alive(pid: int) -> bool:
    _reap(pid)
    return pid_alive(pid)


def _reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
