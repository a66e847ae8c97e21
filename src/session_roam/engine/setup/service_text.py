"""The text of the ``roam watch`` login service: a systemd user unit or a launchd agent.

A service starts without the login shell's environment, so what roam reads from it to find its
own state (``XDG_STATE_HOME``: the lease's per-session locks; ``XDG_CONFIG_HOME``,
``XDG_CACHE_HOME``, which Syncthing, ``ROAM_SYNCTHING_*``) is written into the service when the
shell that installs it has it set: a watch judging locks in another folder than ``roam cr``
would call a live writer's claim dead. Secrets (``STGUIAPIKEY``) are never written.

Paths go into the unit quoted and escaped for systemd (``\\``, ``"``, the ``%`` specifiers and,
in ``ExecStart``, ``$`` variables); a control character cannot be written safely at all, so it
is refused with a sentence rather than allowed to start a new unit line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final
from xml.sax.saxutils import escape

from session_roam.errors import SetupError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = ["LAUNCHD_LABEL", "SERVICE_ENV", "render_launchd", "render_systemd", "service_env"]

LAUNCHD_LABEL: Final = "dev.session-roam.watch"
#: What the service carries over from the installing shell, when set there.
SERVICE_ENV: Final = (
    "XDG_STATE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "STHOMEDIR",
    "ROAM_SYNCTHING_HOME",
    "ROAM_SYNCTHING_BIN",
)
_PLAIN: Final = re.compile(r"[A-Za-z0-9/._:,+@=-]+")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def service_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``SERVICE_ENV`` that ``environ`` sets (non-empty), in that order."""
    return {name: environ[name] for name in SERVICE_ENV if environ.get(name)}


def _refuse_control(value: str) -> None:
    if _CONTROL.search(value):
        raise SetupError(
            f"Cannot write {value!r} into the roam watch service: it holds a control character.",
            hint="Use a Claude dir and XDG folders whose paths have no control characters.",
        )


def _systemd_word(value: str, *, exec_line: bool) -> str:
    """One word of a unit line: as is when plain, else double-quoted with systemd's escapes."""
    _refuse_control(value)
    if _PLAIN.fullmatch(value):
        return value
    quoted = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    if exec_line:
        quoted = quoted.replace("$", "$$")
    return f'"{quoted}"'


def render_systemd(argv: Sequence[str], environment: Mapping[str, str] | None = None) -> str:
    command = " ".join(_systemd_word(arg, exec_line=True) for arg in argv)
    env = "".join(
        f"Environment={_systemd_word(f'{k}={v}', exec_line=False)}\n"
        for k, v in (environment or {}).items()
    )
    return (
        "[Unit]\n"
        "Description=session-roam: merge Syncthing conflict copies of Claude Code sessions\n"
        "After=syncthing.service\n\n"
        "[Service]\n"
        f"{env}"
        f"ExecStart={command}\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        # A stop or restart signals the watch alone, which stops its cr server itself: a
        # `roam cr` that server forked must outlive it (its claude may run for hours, and a
        # killed one would leave its lease claimed by a dead process). docs/design/cr-server.md
        "KillMode=process\n\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def render_launchd(
    argv: Sequence[str], log_path: Path, environment: Mapping[str, str] | None = None
) -> str:
    for value in (*argv, *(environment or {}).values()):
        _refuse_control(value)
    args = "\n".join(f"    <string>{escape(a)}</string>" for a in argv)
    env = ""
    if environment:
        pairs = "".join(
            f"    <key>{escape(k)}</key><string>{escape(v)}</string>\n"
            for k, v in environment.items()
        )
        env = f"  <key>EnvironmentVariables</key>\n  <dict>\n{pairs}  </dict>\n"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
        '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
        '<plist version="1.0">\n<dict>\n'
        f"  <key>Label</key><string>{LAUNCHD_LABEL}</string>\n"
        f"  <key>ProgramArguments</key>\n  <array>\n{args}\n  </array>\n"
        f"{env}"
        "  <key>RunAtLoad</key><true/>\n"
        "  <key>KeepAlive</key><true/>\n"
        f"  <key>StandardErrorPath</key><string>{escape(str(log_path))}</string>\n"
        "</dict>\n</plist>\n"
    )
