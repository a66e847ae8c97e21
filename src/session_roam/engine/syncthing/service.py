"""Keeping this machine's Syncthing running, and saying whether it comes back after a reboot.

A lease needs the local Syncthing, and ``roam cr`` on a machine set up for sync must not write
without one. After a reboot without a user systemd, or once someone stopped it, that Syncthing
is configured but silent (issue 20, case 3). roam then starts it the way ``roam setup`` does:
the packaged systemd user unit when the home is Syncthing's default and a user manager works
(that unit knows no other home), else a background process in its own session whose PID goes
next to ``config.xml`` (``node.spawn_detached``). The waits are bounded: for the REST API (and
no longer once the process has died), then for peers, which dial a node that just started
within a second or two on a LAN.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.procs import pid_alive
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.node import PID_FILE, find_syncthing_binary, spawn_detached
from session_roam.errors import SyncthingError, SyncthingUnreachable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from session_roam.engine.syncthing.config import StConfig

__all__ = [
    "SYSTEMD_UNIT",
    "Autostart",
    "Started",
    "autostart",
    "ensure_running",
    "is_running",
    "start_syncthing",
    "systemd_ready",
    "wait_for_peers",
]

log = logging.getLogger(__name__)

SYSTEMD_UNIT: Final = "syncthing.service"
_TOOL_TIMEOUT_S: Final = 30.0
_POLL_S: Final = 0.1


@dataclass(frozen=True, slots=True)
class Started:
    """How roam started Syncthing: ``pid`` and ``log_path`` only for a background process."""

    how: str
    pid: int | None = None
    log_path: Path | None = None


@dataclass(frozen=True, slots=True)
class Autostart:
    """Whether something outside roam starts this Syncthing at boot or login, and how.

    ``fix`` is the command that would make it so, when there is one roam can name.
    """

    survives_reboot: bool
    how: str
    fix: str = ""


def systemd_ready() -> bool:
    """A working user manager with Syncthing's packaged unit installed."""
    if os.environ.get("ROAM_NO_SYSTEMD") or shutil.which("systemctl") is None:
        return False
    return _tool(["systemctl", "--user", "cat", SYSTEMD_UNIT]) is not None


def _tool(argv: Sequence[str]) -> str | None:
    """The tool's stdout when it succeeded; None when it failed or could not run."""
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=_TOOL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def start_syncthing(binary: str, home: Path, *, use_systemd: bool, enable: bool) -> Started:
    """Start Syncthing for ``home``: through systemd when allowed and working, else detached.

    ``enable`` also enables the unit at login (``roam setup`` does; ``roam cr`` only starts it,
    since turning a service on for good is the user's call, not a side effect of a resume).
    """
    if use_systemd and systemd_ready():
        verb = ["enable", "--now"] if enable else ["start"]
        if _tool(["systemctl", "--user", *verb, SYSTEMD_UNIT]) is not None:
            return Started(f"systemd user unit {SYSTEMD_UNIT}")
    log_path = xdg.state_dir() / "syncthing.log"
    pid = spawn_detached(binary, home, log_path)
    return Started(f"background process {pid}, log {log_path}", pid=pid, log_path=log_path)


def is_running(client: SyncthingClient) -> bool:
    """Whether the node answers on its REST address (with our key)."""
    try:
        client.ping()
    except SyncthingUnreachable:
        return False
    return True


def ensure_running(
    config: StConfig, *, use_systemd: bool, timeout_s: float = 30.0
) -> Started | None:
    """None when Syncthing already answers; else start it and wait until it does.

    Raises SyncthingMissing when there is no binary to start, SyncthingUnreachable (naming the
    log) when it exits while starting or does not answer within ``timeout_s``.
    """
    with SyncthingClient(config.base_url, config.api_key, timeout=3.0) as client:
        if is_running(client):
            return None
        binary = find_syncthing_binary()
        started = start_syncthing(binary, config.home, use_systemd=use_systemd, enable=False)
        log.info("Syncthing was not running; started it as %s", started.how)
        where = f"; see {started.log_path}" if started.log_path else ""
        deadline = time.monotonic() + timeout_s
        while not is_running(client):
            if started.pid is not None and not _alive(started.pid):
                raise SyncthingUnreachable(
                    f"Syncthing in {config.home} exited while starting{where}."
                )
            if time.monotonic() >= deadline:
                raise SyncthingUnreachable(
                    f"Syncthing in {config.home} did not answer within {timeout_s:g} s of being "
                    f"started{where}."
                )
            time.sleep(_POLL_S)
    return started


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # our own child: reap it if it died
        os.waitpid(pid, os.WNOHANG)
    return pid_alive(pid)


def wait_for_peers(client: SyncthingClient, folder_id: str, *, timeout_s: float) -> bool:
    """Wait until every device sharing ``folder_id`` is connected; False at the deadline.

    A node that just started has no connections yet, and the lease would count its peers as
    off. Not reaching them all is no error here: the lease then decides by its own rules.
    """
    deadline = time.monotonic() + timeout_s
    while not _peers_connected(client, folder_id):
        if time.monotonic() >= deadline:
            log.info("not every peer of %s connected within %g s", folder_id, timeout_s)
            return False
        time.sleep(_POLL_S)
    return True


def _peers_connected(client: SyncthingClient, folder_id: str) -> bool:
    try:
        me = client.my_id()
        wanted = set(client.folder(folder_id).device_ids) - {me}
        online = {d for d, c in client.connections().items() if c.connected}
    except SyncthingError as exc:  # a node this fresh may not serve every endpoint yet
        log.info("waiting for peers: %s", exc)
        return False
    return wanted <= online


def autostart(home: Path, *, is_default: bool) -> Autostart:
    """Whether this Syncthing will be running again after a reboot, for ``roam status``.

    Syncthing's systemd units and launchd agents all serve its default home, so they only count
    when ``home`` is that one.
    """
    if is_default:
        service = _service_enabled()
        if service is not None:
            return Autostart(True, service)
    if is_default and sys.platform == "darwin":
        fix = "brew services start syncthing"
    elif is_default:
        fix = f"systemctl --user enable --now {SYSTEMD_UNIT}"
    else:
        fix = ""
    pid = _roam_pid(home)
    started = f"started by roam in the background (pid {pid})" if pid else "not running"
    return Autostart(
        False,
        f"{started}; nothing starts it after a reboot (roam cr starts it when it needs it)",
        fix,
    )


def _service_enabled() -> str | None:
    if sys.platform == "darwin":
        agents = Path.home() / "Library" / "LaunchAgents"
        names = sorted(p.name for p in agents.glob("*.plist") if "syncthing" in p.name.lower())
        return f"launchd agent {names[0]} starts it at login" if names else None
    if shutil.which("systemctl") is None:
        return None
    unit = f"syncthing@{getpass.getuser()}.service"
    for argv, when in (
        (["systemctl", "--user", "is-enabled", SYSTEMD_UNIT], "at login"),
        (["systemctl", "is-enabled", unit], "at boot"),
    ):
        if (_tool(argv) or "").strip() == "enabled":
            return f"systemd unit {argv[-1]} is enabled: it starts {when}"
    return None


def _roam_pid(home: Path) -> int | None:
    """The PID of a Syncthing roam started in the background for ``home``, while it runs."""
    try:
        pid = int((home / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None
