"""What roam needs on this machine (Syncthing, and claude), whether it is there, and how to get it.

One answer for every place that asks: ``roam`` with no command (the getting-started screen),
``roam setup`` and ``roam demo`` before they write or start anything. Syncthing's version is
judged against the README's matrix: the releases CI runs (``tested``), the ones roam is written
for but CI does not run (``handled``), and those it refuses (``refused``). The install hint is a
command for this platform's package manager, never run here.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from session_roam.engine.claude.launch import find_claude
from session_roam.engine.syncthing.client import MAX_SUPPORTED, MIN_SUPPORTED
from session_roam.engine.syncthing.home import recorded_syncthing_home
from session_roam.engine.syncthing.node import find_syncthing_binary
from session_roam.engine.syncthing.version import KNOWN_THROUGH, binary_version
from session_roam.errors import ClaudeMissing, SetupError, SyncthingMissing

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.syncthing.models import SyncthingVersion

__all__ = ["ToolCheck", "ToolChecks", "check_requirements", "require_syncthing"]

Status = Literal["tested", "handled", "refused", "unknown", "missing", "found"]

#: Release lines CI runs the suite on (README, "Supported Syncthing versions").
_TESTED: Final = ((1, 19), (1, 29))

_SYNCTHING_HOW: Final = {
    "brew": "brew install syncthing",
    "apt-get": "sudo apt-get install syncthing",
    "dnf": "sudo dnf install syncthing",
    "pacman": "sudo pacman -S syncthing",
    "zypper": "sudo zypper install syncthing",
    "apk": "sudo apk add syncthing",
}
_SYNCTHING_ANYWHERE: Final = "download it from https://syncthing.net/downloads/"
_CLAUDE_HOW: Final = "curl -fsSL https://claude.ai/install.sh | bash"
#: Where package managers live even when PATH is short (a fresh macOS shell lacks Homebrew's).
_SYSTEM_BINS: Final = ("/opt/homebrew/bin", "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin")


def _which_anywhere(name: str) -> str | None:
    path = os.pathsep.join((os.environ.get("PATH", ""), *_SYSTEM_BINS))
    return shutil.which(name, path=path)


@dataclass(frozen=True, slots=True)
class ToolCheck:
    """One program roam needs: where it is, how good it is, and how to get it."""

    name: Literal["syncthing", "claude"]
    status: Status
    path: str | None
    version: str | None
    detail: str  # one sentence for a person
    install: str  # a command for this platform, or where to download

    @property
    def usable(self) -> bool:
        return self.status not in ("missing", "refused")


@dataclass(frozen=True, slots=True)
class ToolChecks:
    platform: str
    syncthing: ToolCheck
    claude: ToolCheck
    set_up: bool  # `roam setup` has run here (it recorded this machine's Syncthing home)

    @property
    def items(self) -> tuple[ToolCheck, ...]:
        return (self.syncthing, self.claude)

    @property
    def ready(self) -> bool:
        return all(item.usable for item in self.items)

    def next_steps(self) -> list[tuple[str, str]]:
        """The roam commands to run next, in order, as (command, why) pairs; installing what is
        missing comes first (each requirement's ``install``)."""
        if not self.syncthing.usable:
            return [("roam", "again, once Syncthing is installed")]
        if not self.set_up:
            return [
                ("roam demo", "watch a session travel between three machines (~15 s)"),
                (
                    "roam setup",
                    "set this machine up for real, `roam watch` at login included (then on "
                    "your other machine)",
                ),
            ]
        steps = [("roam status", "this machine's sync and its peers")]
        if self.claude.usable:
            steps.append(("roam cr", "in a project directory: continue its newest session"))
        return steps

    def to_json(self) -> dict[str, object]:
        return {
            "schema": "roam.requirements/1",
            "platform": self.platform,
            "ready": self.ready,
            "set_up": self.set_up,
            "next": [{"command": command, "why": why} for command, why in self.next_steps()],
            "requirements": [
                {
                    "name": r.name,
                    "status": r.status,
                    "usable": r.usable,
                    "path": r.path,
                    "version": r.version,
                    "detail": r.detail,
                    "install": r.install,
                }
                for r in self.items
            ],
        }


def _platform(which: Callable[[str], str | None]) -> tuple[str, str | None]:
    """This platform's name and its package manager (the first one found), if any."""
    name = "macos" if sys.platform == "darwin" else sys.platform
    managers = ("brew",) if name == "macos" else ("apt-get", "dnf", "pacman", "zypper", "apk")
    return name, next((m for m in managers if which(m)), None)


def _short(version: SyncthingVersion) -> str:
    return f"{version.major}.{version.minor}.{version.patch}"


def judge_syncthing(version: SyncthingVersion) -> tuple[Status, str]:
    """Where ``version`` stands in the README's matrix, and one sentence saying so."""
    short = _short(version)
    if not MIN_SUPPORTED <= version < MAX_SUPPORTED:
        return "refused", (
            f"Syncthing {short} is not supported; roam needs {_short(MIN_SUPPORTED)} or newer, "
            f"below {_short(MAX_SUPPORTED)}."
        )
    if (version.major, version.minor) in _TESTED:
        return "tested", f"Syncthing {short}: the whole test suite runs on this release line."
    if version > KNOWN_THROUGH:
        return "handled", (
            f"Syncthing {short}: newer than roam was checked against ({_short(KNOWN_THROUGH)}); "
            "used as it is, not tested."
        )
    return "handled", f"Syncthing {short}: roam is written for it; not run in CI."


def _syncthing(how: str) -> ToolCheck:
    try:
        binary = find_syncthing_binary()
    except SyncthingMissing as missing:
        return ToolCheck("syncthing", "missing", None, None, missing.message, how)
    version = binary_version(binary)
    if version is None:
        detail = f"{binary} did not say which Syncthing release it is."
        return ToolCheck("syncthing", "unknown", binary, None, detail, how)
    status, detail = judge_syncthing(version)
    return ToolCheck("syncthing", status, binary, _short(version), detail, how)


def _claude(how: str) -> ToolCheck:
    try:
        found = find_claude()
    except ClaudeMissing as missing:
        detail = f"{missing.message} roam cr needs it; the demo and setup do not."
        return ToolCheck("claude", "missing", None, None, detail, how)
    return ToolCheck("claude", "found", str(found), None, "Claude Code is installed.", how)


def check_requirements(which: Callable[[str], str | None] = _which_anywhere) -> ToolChecks:
    """What is there, what is missing, and the install command for this platform."""
    platform, manager = _platform(which)
    syncthing_how = _SYNCTHING_HOW[manager] if manager else _SYNCTHING_ANYWHERE
    set_up = recorded_syncthing_home() is not None
    return ToolChecks(platform, _syncthing(syncthing_how), _claude(_CLAUDE_HOW), set_up)


def require_syncthing(requirements: ToolChecks | None = None) -> ToolCheck:
    """Syncthing, usable; otherwise SetupError (exit 3) saying how to get a usable one."""
    found = (requirements or check_requirements()).syncthing
    if found.status == "missing":
        raise SyncthingMissing(
            f"{found.detail} roam uses Syncthing to carry sessions between machines.",
            hint=f"Install it with: {found.install}",
        )
    if found.status == "refused":
        raise SetupError(
            f"{found.detail} ({found.path})",
            hint=f"Install a newer one ({found.install}), or point ROAM_SYNCTHING_BIN at one.",
        )
    return found
