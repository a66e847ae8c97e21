"""Keeping this machine's Syncthing running, and saying whether it comes back after a reboot.

A lease needs the local Syncthing, and ``roam cr`` on a machine set up for sync must not write
without one. After a reboot without a user systemd, or once someone stopped it, that Syncthing
is configured but silent (issue 20, case 3). roam then starts it the way ``roam setup`` does:
the packaged systemd user unit when the home is Syncthing's default and a user manager works
(that unit knows no other home), else a background process in its own session whose PID goes
next to ``config.xml`` (``node.spawn_detached``). ``roam setup`` (``enable``) follows the
pure plan of ``supervision.plan_supervision``, which adds roam's launchd agent on macOS, and
records what it set up for ``roam uninstall``. Someone else's Syncthing on this home's address
is never taken for this one (``instance.probe_instance``). The waits are bounded: for the REST
API (and no longer once the process has died), then for peers, which dial a node that just
started within a second or two on a LAN.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.procs import pid_alive
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import is_default_home
from session_roam.engine.syncthing.instance import Answer, foreign_error, probe_instance
from session_roam.engine.syncthing.node import find_syncthing_binary, spawn_detached
from session_roam.errors import SyncthingError, SyncthingUnreachable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from session_roam.engine.syncthing.config import StConfig

__all__ = [
    "SYSTEMD_UNIT",
    "Autostart",
    "Started",
    "autostart",
    "describe_instance",
    "ensure_running",
    "is_running",
    "start_syncthing",
    "systemd_ready",
    "wait_for_peers",
]

log = logging.getLogger(__name__)

SYSTEMD_UNIT: Final = "syncthing.service"
_POLL_S: Final = 0.1


@dataclass(frozen=True, slots=True)
class Started:
    """How roam started Syncthing: ``pid`` and ``log_path`` only for a background process."""

    how: str
    pid: int | None = None
    log_path: Path | None = None
    #: Why the supervision planned for this platform was not set up (a warning), or "".
    note: str = ""


@dataclass(frozen=True, slots=True)
class Autostart:
    """Whether something outside roam starts this Syncthing at boot or login, and how.

    ``fix`` is the command that would make it so, when there is one roam can name.
    """

    survives_reboot: bool
    how: str
    fix: str = ""
    kind: str = "unknown"
    by_roam: bool = False


def systemd_ready() -> bool:
    """A working user manager with Syncthing's packaged unit installed."""
    if os.environ.get("ROAM_NO_SYSTEMD") or shutil.which("systemctl") is None:
        return False
    return _tool(["systemctl", "--user", "cat", SYSTEMD_UNIT]) is not None


def _tool(argv: Sequence[str]) -> str | None:
    """``hostfacts.run_tool``, imported (with the supervision plans) only when Syncthing must
    be started or described: ``roam cr`` with Syncthing running never needs them (issue 16)."""
    from session_roam.engine.syncthing.hostfacts import run_tool

    return run_tool(argv)


def start_syncthing(
    binary: str,
    home: Path,
    *,
    use_systemd: bool,
    enable: bool,
    platform: str | None = None,
) -> Started:
    """Start Syncthing for ``home``: with ``enable``, the way ``supervision.plan_supervision``
    picks for this platform (what roam set up is recorded); else the user unit when allowed
    and working; else, or when the service manager refuses, a detached process.

    ``enable`` also makes it start at login (``roam setup`` does; ``roam cr`` only starts it,
    since turning a service on for good is the user's call, not a side effect of a resume).
    """
    from session_roam.engine.syncthing.hostfacts import (
        gather_facts,
        record_supervision,
        write_launchd_agent,
    )
    from session_roam.engine.syncthing.supervision import plan_supervision

    note = ""
    if enable:
        facts = gather_facts(home, is_default=use_systemd, answering=False, platform=platform)
        plan = plan_supervision(facts, user_home=Path(os.environ.get("HOME") or Path.home()))
        if plan.agent is not None:
            write_launchd_agent(binary, home, user_home=plan.agent.parents[2])
        failed = next((step for step in plan.argv if _tool(step) is None), None)
        if plan.argv and failed is None:
            if plan.kind != "systemd user unit" or not facts.unit_enabled:
                record_supervision(plan.kind, home)
            return Started(plan.sentence)
        if failed is not None:
            note = (
                f"`{' '.join(failed)}` failed, so Syncthing runs as a background process that "
                "does not come back after a reboot; fix that and run `roam setup` again."
            )
            log.warning("%s", note)
        if plan.agent is not None:
            plan.agent.unlink(missing_ok=True)
    elif (
        use_systemd
        and systemd_ready()
        and _tool(["systemctl", "--user", "start", SYSTEMD_UNIT]) is not None
    ):
        return Started(f"systemd user unit {SYSTEMD_UNIT}")
    log_path = xdg.state_dir() / "syncthing.log"
    pid = spawn_detached(binary, home, log_path)
    if enable:
        record_supervision("started by roam", home)
    return Started(
        f"background process {pid}, log {log_path}", pid=pid, log_path=log_path, note=note
    )


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
    answer = probe_instance(config)
    if answer is Answer.FOREIGN:  # never start a node onto a port someone else's holds
        raise foreign_error(config)
    if answer is Answer.OURS:
        return None
    with SyncthingClient(config.base_url, config.api_key, timeout=3.0) as client:
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


def autostart(
    home: Path, *, is_default: bool, answering: bool = True, platform: str | None = None
) -> Autostart:
    """Whether this Syncthing will be running again after a reboot, for ``roam status``.

    Syncthing's systemd units and other launchd agents serve its default home, so they only
    count when ``home`` is that one; roam's own launchd agent names its home.
    """
    from session_roam.engine.syncthing.hostfacts import gather_facts
    from session_roam.engine.syncthing.supervision import describe

    now = describe(
        gather_facts(home, is_default=is_default, answering=answering, platform=platform)
    )
    return Autostart(now.survives_reboot, now.detail, now.fix, kind=now.kind, by_roam=now.by_roam)


def describe_instance(home: Path, gui_address: str) -> str:
    """Which Syncthing is in use and how it is kept running, one line for status/verify."""
    how = autostart(home, is_default=is_default_home(home))
    reboot = "comes back after a reboot" if how.survives_reboot else "not after a reboot"
    return f"home {home}, GUI {gui_address}; kept running by: {how.kind}, {reboot}"
