"""Running ``roam watch`` at login: a systemd user unit (Linux) or a launchd agent (macOS).

The unit runs this very Python with ``-m session_roam watch``, so it keeps working whichever
way roam was installed (pipx, a venv, a checkout) and never picks up another ``roam`` on PATH.
Installing writes the file (0600) and, when asked, enables and starts it with the platform's
own tool; uninstalling stops it and removes exactly that file.

``ROAM_NO_SYSTEMD`` (Linux) and ``ROAM_NO_LAUNCHD`` (macOS) keep the platform's tool out of
it, as they do for Syncthing (``engine.syncthing.service``): the file is still written, nothing
is asked to start it. Tests and scripted clusters set them so that no run ever reaches the
user's own service manager.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.setup.service_text import (
    LAUNCHD_LABEL,
    render_launchd,
    render_systemd,
    service_env,
)
from session_roam.engine.setup.watch_record import (
    forget_written,
    remember_removal,
    remember_written,
)

__all__ = [
    "LAUNCHD_LABEL",
    "SYSTEMD_UNIT",
    "ServiceChange",
    "WatchService",
    "install_service",
    "manager_problem",
    "render_launchd",
    "render_systemd",
    "restart_service",
    "service_file",
    "service_state",
    "tool_failed",
    "uninstall_service",
    "watch_status",
]

Platform = Literal["systemd", "launchd"]
SYSTEMD_UNIT: Final = "roam-watch.service"
_TIMEOUT_S: Final = 30.0
#: How ``_run`` begins its words when the tool did what it was asked.
_RAN: Final = "ran "


@dataclass(frozen=True, slots=True)
class ServiceChange:
    """What happened: the file, whether it changed, and what the platform tool said."""

    platform: Platform
    path: Path
    changed: bool
    activated: str = ""

    @property
    def activation_failed(self) -> bool:
        """The platform tool was asked to (un)load the service and did not (``_run``'s words)."""
        return tool_failed(self.activated)


def tool_failed(said: str) -> bool:
    """Whether ``_run``'s words say the platform tool failed ("": it was not asked)."""
    return bool(said) and not said.startswith(_RAN)


def _argv(claude_dir: Path | None = None) -> list[str]:
    """The unit's command; a Claude dir other than the default is named in it, since a service
    starts without the shell's ``CLAUDE_CONFIG_DIR``."""
    chosen = ["--claude-dir", str(claude_dir)] if claude_dir is not None else []
    # -P: the service starts in the home folder, which must not come first on sys.path
    return [sys.executable, "-P", "-m", "session_roam", *chosen, "watch"]


_GUARDS: Final[dict[Platform, str]] = {"systemd": "ROAM_NO_SYSTEMD", "launchd": "ROAM_NO_LAUNCHD"}


def _platform() -> Platform:
    return "launchd" if sys.platform == "darwin" else "systemd"


def service_file(platform: Platform | None, home: Path) -> Path:
    """The unit (systemd) or agent (launchd) file; ``platform`` None: this machine's."""
    platform = platform or _platform()
    if platform == "launchd":
        return home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return config / "systemd" / "user" / SYSTEMD_UNIT


@dataclass(frozen=True, slots=True)
class WatchService:
    """The `roam watch` service as the platform reports it: written, enabled at login, running."""

    installed: bool
    enabled: bool
    running: bool

    def describe(self) -> str:
        if not self.installed:
            return "not installed (`roam watch install` runs it at login)"
        now = "running" if self.running else "not running"
        login = "starts at login" if self.enabled else "does NOT start at login"
        fix = "" if self.running and self.enabled else " (run `roam watch install` again)"
        return f"installed, {now}, {login}{fix}"

    def to_json(self) -> dict[str, bool]:
        return {"installed": self.installed, "enabled": self.enabled, "running": self.running}


def watch_status(home: Path, *, platform: Platform | None = None) -> WatchService:
    """Whether the service `roam watch install` writes is there, enabled and running.

    Only that service is looked at; a `roam watch` started by hand in a terminal is not.
    """
    platform = platform or _platform()
    if not service_file(platform, home).exists():
        return WatchService(installed=False, enabled=False, running=False)
    if platform == "systemd":
        enabled = _ask(["systemctl", "--user", "is-enabled", SYSTEMD_UNIT])
        active = _ask(["systemctl", "--user", "is-active", SYSTEMD_UNIT])
        return WatchService(
            True,
            enabled is not None and enabled[1] == "enabled",
            active is not None and active[1] == "active",
        )
    listed = _ask(["launchctl", "list", LAUNCHD_LABEL])
    loaded = listed is not None and listed[0] == 0
    return WatchService(True, loaded, loaded and '"PID" =' in (listed[1] if listed else ""))


def _ask(argv: list[str]) -> tuple[int, str] | None:
    """The tool's exit status and stripped stdout; None when it cannot run or may not be asked."""
    if _guarded(argv[0]) or shutil.which(argv[0]) is None:
        return None
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.returncode, result.stdout.strip()


def service_state(home: Path, *, platform: Platform | None = None) -> str:
    """``running``, ``installed`` (but not running) or ``not installed``, for `roam status`."""
    found = watch_status(home, platform=platform)
    if not found.installed:
        return "not installed"
    return "running" if found.running else "installed"


def manager_problem(platform: Platform | None = None) -> str | None:
    """Why the platform's service manager cannot run `roam watch` here, or None when it can.

    A systemd without a user instance (containers, WSL1, CI machines) answers no
    ``systemctl --user`` call; that is asked before anything is written."""
    chosen = platform or _platform()
    tool = "launchctl" if chosen == "launchd" else "systemctl"
    if guard := _guarded(tool):
        return f"{guard} is set"
    if shutil.which(tool) is None:
        return f"{tool} is not available"
    if chosen == "systemd":
        answer = _ask(["systemctl", "--user", "show-environment"])
        if answer is None or answer[0] != 0:
            return "systemd has no user instance here, `systemctl --user` fails"
    return None


def _guarded(tool: str) -> str | None:
    """The ``ROAM_NO_*`` variable that keeps ``tool`` (systemctl, launchctl) unasked, if set."""
    guard = _GUARDS["launchd" if tool == "launchctl" else "systemd"]
    return guard if os.environ.get(guard) else None


def _run(argv: list[str]) -> str:
    if guard := _guarded(argv[0]):
        return f"{guard} is set; start it yourself"
    if shutil.which(argv[0]) is None:
        return f"{argv[0]} is not available; start it yourself"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{' '.join(argv)} failed ({exc})"
    if done.returncode != 0:
        return f"{' '.join(argv)} failed: {(done.stderr or done.stdout).strip()}"
    return f"{_RAN}{' '.join(argv)}"


def _systemctl(*steps: list[str]) -> str:
    """``systemctl --user`` with each step in turn, up to the first that fails; its words."""
    said = ""
    for step in steps:
        said = _run(["systemctl", "--user", *step])
        if tool_failed(said):
            break
    return said


def install_service(
    home: Path,
    *,
    activate: bool = True,
    platform: Platform | None = None,
    log_path: Path | None = None,
    claude_dir: Path | None = None,
) -> ServiceChange:
    """Write the unit/agent (unchanged bytes are not rewritten); with ``activate``, start it.

    ``claude_dir``: the Claude dir the watch serves when it is not the default one."""
    chosen = platform or _platform()
    path = service_file(chosen, home)
    argv = _argv(claude_dir)
    env = service_env(os.environ)
    if chosen == "launchd":
        log = log_path or home / "Library" / "Logs" / "roam-watch.log"
        text = render_launchd(argv, log, env)
    else:
        text = render_systemd(argv, env)
    try:
        changed = path.read_text(encoding="utf-8") != text
    except OSError:
        changed = True
    if changed:
        make_private_dirs(path.parent)
        atomic_write(path, text.encode("utf-8"))
    remember_written(path, text)  # roam's own, installed: `roam setup` may rewrite it
    activated = ""
    if activate:
        if chosen == "launchd":
            activated = _run(["launchctl", "load", "-w", str(path)])
        else:
            activated = _systemctl(["daemon-reload"], ["enable", "--now", SYSTEMD_UNIT])
    return ServiceChange(chosen, path, changed, activated)


def restart_service(home: Path, *, platform: Platform | None = None) -> str:
    """Restart a running service so that it runs what its rewritten file says (``enable --now``
    leaves a running unit as it is); the platform tool's words, as ``_run`` gives them."""
    chosen = platform or _platform()
    if chosen == "launchd":
        path = str(service_file(chosen, home))
        _run(["launchctl", "unload", path])
        return _run(["launchctl", "load", "-w", path])
    # the rewritten file is read only on a reload; enable in case it ran without being enabled
    return _systemctl(["daemon-reload"], ["enable", SYSTEMD_UNIT], ["restart", SYSTEMD_UNIT])


def uninstall_service(
    home: Path, *, activate: bool = True, platform: Platform | None = None, remember: bool = False
) -> ServiceChange:
    """Stop and remove the unit/agent; nothing to do when it is not installed. ``remember``:
    the person asked for it (`roam watch uninstall`), so `roam setup` does not bring it back."""
    chosen = platform or _platform()
    path = service_file(chosen, home)
    if not path.exists():  # already gone (deleted by hand): record what was asked all the same
        if remember:
            remember_removal()
        else:
            forget_written()
        return ServiceChange(chosen, path, False)
    activated = ""
    if activate:
        if chosen == "launchd":
            activated = _run(["launchctl", "unload", "-w", str(path)])
        else:
            activated = _run(["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT])
    path.unlink()
    if remember:  # only once it is gone: a record saying "removed" beside a unit would lie
        remember_removal()
    else:  # roam's own removal (`roam uninstall`, a failed start): not one setup must keep
        forget_written()
    return ServiceChange(chosen, path, True, activated)
