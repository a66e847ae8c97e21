"""How this machine's Syncthing is kept running, and how roam should keep it running: pure.

``PlatformFacts`` is everything roam learns from the platform (``gather_facts`` asks it:
systemctl, ~/Library/LaunchAgents, the PID file, what roam recorded); ``describe`` turns them
into what ``roam status``/``verify`` print (systemd user unit, launchd agent, started by roam,
unknown), and ``plan_supervision`` into what ``roam setup`` does when nothing runs yet: the
packaged ``syncthing.service`` user unit on Linux (it serves only Syncthing's default home), a
launchd agent of roam's own on macOS (it names the home, so any home works), else a background
process that does not survive a reboot. Both are pure, so every platform's branch is tested
here, even where it cannot run.

What roam set up is recorded (``SUPERVISION_RECORD`` in roam's state dir), so ``roam uninstall``
undoes exactly that and never stops a Syncthing the user ran before roam.
"""

from __future__ import annotations

import json
import plistlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "LAUNCHD_LABEL",
    "SUPERVISION_RECORD",
    "SYSTEMD_UNIT",
    "Kind",
    "Plan",
    "PlatformFacts",
    "Supervision",
    "describe",
    "launchd_agent_path",
    "plan_supervision",
    "render_launchd_agent",
]

Kind = Literal[
    "systemd user unit",
    "systemd system unit",
    "launchd agent",
    "started by roam",
    "unknown",
    "none",
]
SYSTEMD_UNIT: Final = "syncthing.service"
LAUNCHD_LABEL: Final = "dev.session-roam.syncthing"
SUPERVISION_RECORD: Final = "syncthing-supervision.json"


@dataclass(frozen=True, slots=True)
class PlatformFacts:
    """What the platform says about one Syncthing home (``gather_facts`` collects them)."""

    platform: str  # sys.platform: "linux", "darwin", ...
    home: Path
    home_is_default: bool
    answering: bool = False
    systemd_user: bool = False  # a working ``systemctl --user`` (informative: the plan
    # needs ``packaged_unit``, which implies it)
    packaged_unit: bool = False  # Syncthing's ``syncthing.service`` user unit is installed
    unit_enabled: bool = False
    unit_active: bool = False
    system_unit_enabled: bool = False  # ``syncthing@USER.service``, enabled at boot
    launchd_agents: tuple[str, ...] = ()  # plist names mentioning syncthing (brew's, roam's)
    launchctl: bool = False  # macOS's launchctl can be used (not ROAM_NO_LAUNCHD)
    roam_pid: int | None = None  # a background node roam started for this home, alive
    recorded: str = ""  # the Kind roam recorded when it set supervision up, "" if none


@dataclass(frozen=True, slots=True)
class Supervision:
    """How the Syncthing of a home is supervised now, for ``roam status``/``verify``."""

    kind: Kind
    survives_reboot: bool
    running: bool
    detail: str
    by_roam: bool  # roam set this up (``roam uninstall`` may undo it)
    fix: str = ""  # the command that makes it survive a reboot, when roam can name one


@dataclass(frozen=True, slots=True)
class Plan:
    """What ``roam setup`` does to start and keep Syncthing: ``argv`` steps run in order after
    ``agent`` (a launchd plist path) is written; ``kind`` "adopt" runs nothing."""

    kind: Literal["adopt", "systemd user unit", "launchd agent", "background"]
    survives_reboot: bool
    sentence: str
    argv: tuple[tuple[str, ...], ...] = ()
    agent: Path | None = None


def launchd_agent_path(user_home: Path) -> Path:
    return user_home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"


def _roam_agent(facts: PlatformFacts) -> bool:
    return f"{LAUNCHD_LABEL}.plist" in facts.launchd_agents


def describe(facts: PlatformFacts) -> Supervision:
    """How the Syncthing of ``facts.home`` is kept running, in the words status prints."""
    running = facts.answering
    if facts.platform == "darwin" and (_roam_agent(facts) or facts.launchd_agents):
        mine = _roam_agent(facts)
        name = f"{LAUNCHD_LABEL}.plist" if mine else facts.launchd_agents[0]
        if mine or facts.home_is_default:  # other agents serve Syncthing's default home
            return Supervision(
                "launchd agent",
                True,
                running,
                f"launchd agent {name} starts it at login",
                by_roam=mine and facts.recorded == "launchd agent",
            )
    if facts.home_is_default and facts.unit_enabled:
        return Supervision(
            "systemd user unit",
            True,
            running,
            f"systemd user unit {SYSTEMD_UNIT} is enabled: it starts at login",
            by_roam=facts.recorded == "systemd user unit",
        )
    if facts.home_is_default and facts.unit_active:  # started by hand, not enabled
        return Supervision(
            "systemd user unit",
            False,
            running,
            f"systemd user unit {SYSTEMD_UNIT} runs it but is not enabled: it does not start "
            "at login",
            by_roam=False,
            fix=f"systemctl --user enable {SYSTEMD_UNIT}",
        )
    if facts.home_is_default and facts.system_unit_enabled:
        return Supervision(
            "systemd system unit",
            True,
            running,
            "systemd unit syncthing@USER.service is enabled: it starts at boot",
            by_roam=False,
        )
    fix = _fix(facts)
    if facts.roam_pid is not None:
        return Supervision(
            "started by roam",
            False,
            running,
            f"started by roam in the background (pid {facts.roam_pid}); nothing starts it "
            "after a reboot (roam cr starts it when it needs it)",
            by_roam=True,
            fix=fix,
        )
    if running:
        return Supervision(
            "unknown",
            False,
            True,
            "running, started by something roam does not know (a tray app, a terminal?); "
            "roam cannot tell whether it comes back after a reboot",
            by_roam=False,
            fix=fix,
        )
    return Supervision(
        "none",
        False,
        False,
        "not running; nothing starts it after a reboot (roam cr starts it when it needs it)",
        by_roam=False,
        fix=fix,
    )


def _fix(facts: PlatformFacts) -> str:
    if facts.platform == "darwin":
        return "roam setup (installs a launchd agent)"
    if facts.home_is_default and facts.packaged_unit:
        return f"systemctl --user enable --now {SYSTEMD_UNIT}"
    return ""


def plan_supervision(facts: PlatformFacts, *, user_home: Path) -> Plan:
    """What ``roam setup`` does: adopt a Syncthing that answers (never a second one on the
    same home), else start one the way that survives a reboot on this platform."""
    if facts.answering:
        now = describe(facts)
        return Plan("adopt", now.survives_reboot, f"already running; {now.detail}")
    if facts.platform == "linux" and facts.home_is_default and facts.packaged_unit:
        return Plan(
            "systemd user unit",
            True,
            f"systemd user unit {SYSTEMD_UNIT}, enabled at login",
            argv=(("systemctl", "--user", "enable", "--now", SYSTEMD_UNIT),),
        )
    if facts.platform == "darwin" and facts.launchctl:
        agent = launchd_agent_path(user_home)
        return Plan(
            "launchd agent",
            True,
            f"launchd agent {agent}, loaded at login",
            argv=(("launchctl", "load", "-w", str(agent)),),
            agent=agent,
        )
    why = (
        "Syncthing's systemd unit serves only its default home"
        if facts.platform == "linux" and facts.packaged_unit
        else "no user service manager roam can use here"
    )
    return Plan(
        "background",
        False,
        f"a background process ({why}; it does not come back after a reboot)",
    )


def render_launchd_agent(argv: list[str], env: dict[str, str], log_path: Path) -> bytes:
    """The launchd agent that runs ``argv`` (``syncthing serve --home=...``) at login."""
    return plistlib.dumps(
        {
            "Label": LAUNCHD_LABEL,
            "ProgramArguments": argv,
            "EnvironmentVariables": env,
            "RunAtLoad": True,
            "KeepAlive": True,
            "ProcessType": "Background",
            "StandardOutPath": str(log_path),
            "StandardErrorPath": str(log_path),
        }
    )


def read_record(state_dir: Path) -> dict[str, str]:
    """What roam recorded it set up: ``{"kind": Kind, "home": path}``, or {}."""
    try:
        data = json.loads((state_dir / SUPERVISION_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}
