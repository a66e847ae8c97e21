"""Asking the platform how a Syncthing home is supervised, and doing what roam decided.

The decisions are pure (``supervision``); this module gathers their facts (systemctl,
~/Library/LaunchAgents, roam's PID file and record) and carries out their two side effects
that are roam's own: the launchd agent roam writes on macOS, and the record of what roam set up
(``supervision.SUPERVISION_RECORD``), which ``roam uninstall`` reads to undo exactly that.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.core.procs import pid_alive
from session_roam.engine.syncthing.node import PID_FILE, START_ENV
from session_roam.engine.syncthing.supervision import (
    SUPERVISION_RECORD,
    SYSTEMD_UNIT,
    PlatformFacts,
    launchd_agent_path,
    read_record,
    render_launchd_agent,
)
from session_roam.engine.syncthing.version import serve_argv

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "forget_supervision",
    "gather_facts",
    "record_supervision",
    "recorded_supervision",
    "run_tool",
    "write_launchd_agent",
]

_TOOL_TIMEOUT_S: Final = 30.0


def run_tool(argv: Sequence[str]) -> str | None:
    """The tool's stdout when it succeeded; None when it failed or could not run."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=_TOOL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _user_home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def recorded_supervision(home: Path) -> str:
    """The kind of supervision roam recorded it set up for ``home``; "" when none."""
    record = read_record(xdg.state_dir_path())
    return record.get("kind", "") if record.get("home") == str(home) else ""


def record_supervision(kind: str, home: Path) -> None:
    path = xdg.state_dir() / SUPERVISION_RECORD
    make_private_dirs(path.parent)
    atomic_write(path, json.dumps({"kind": kind, "home": str(home)}).encode("utf-8"))


def forget_supervision() -> None:
    (xdg.state_dir_path() / SUPERVISION_RECORD).unlink(missing_ok=True)


def gather_facts(
    home: Path, *, is_default: bool, answering: bool, platform: str | None = None
) -> PlatformFacts:
    """Ask this machine how the Syncthing of ``home`` is kept running."""
    platform = platform or sys.platform
    systemd = platform != "darwin" and not os.environ.get("ROAM_NO_SYSTEMD")
    systemd = systemd and shutil.which("systemctl") is not None
    user_unit = systemd and run_tool(["systemctl", "--user", "cat", SYSTEMD_UNIT]) is not None

    def enabled(argv: list[str]) -> bool:
        return systemd and (run_tool(argv) or "").strip() == "enabled"

    agents: tuple[str, ...] = ()
    if platform == "darwin":
        folder = _user_home() / "Library" / "LaunchAgents"
        agents = tuple(
            sorted(p.name for p in folder.glob("*.plist") if "syncthing" in p.name.lower())
        )
    return PlatformFacts(
        platform=platform,
        home=home,
        home_is_default=is_default,
        answering=answering,
        systemd_user=user_unit,  # ``systemctl --user cat`` answered: the user manager works
        packaged_unit=user_unit,
        unit_enabled=user_unit and enabled(["systemctl", "--user", "is-enabled", SYSTEMD_UNIT]),
        unit_active=user_unit
        and (run_tool(["systemctl", "--user", "is-active", SYSTEMD_UNIT]) or "").strip()
        == "active",
        system_unit_enabled=enabled(
            ["systemctl", "is-enabled", f"syncthing@{getpass.getuser()}.service"]
        ),
        launchd_agents=agents,
        launchctl=platform == "darwin"
        and not os.environ.get("ROAM_NO_LAUNCHD")
        and shutil.which("launchctl") is not None,
        roam_pid=_roam_pid(home),
        recorded=recorded_supervision(home),
    )


def _roam_pid(home: Path) -> int | None:
    """The PID of a Syncthing roam started in the background for ``home``, while it runs."""
    try:
        pid = int((home / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def write_launchd_agent(binary: str, home: Path, *, user_home: Path | None = None) -> Path:
    """Write roam's launchd agent that serves ``home`` at login; returns its path."""
    user_home = user_home or _user_home()
    path = launchd_agent_path(user_home)
    log_path = user_home / "Library" / "Logs" / "roam-syncthing.log"
    text = render_launchd_agent(serve_argv(binary, home), dict(START_ENV), log_path)
    make_private_dirs(path.parent)
    atomic_write(path, text)
    return path
