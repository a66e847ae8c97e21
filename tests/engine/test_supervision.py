"""How Syncthing is kept running, decided from platform facts alone (``supervision``), and the
launchd agents roam writes on macOS: every platform's branch, with the platform faked."""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import TYPE_CHECKING

from session_roam.engine.setup.watch_service import install_service, render_launchd
from session_roam.engine.syncthing import hostfacts
from session_roam.engine.syncthing import service as stservice
from session_roam.engine.syncthing.supervision import (
    LAUNCHD_LABEL,
    PlatformFacts,
    describe,
    plan_supervision,
    render_launchd_agent,
)

if TYPE_CHECKING:
    import pytest

HOME = Path("/home/u/.local/state/syncthing")
USER = Path("/home/u")


def _facts(**changes: object) -> PlatformFacts:
    base: dict[str, object] = {"platform": "linux", "home": HOME, "home_is_default": True}
    base.update(changes)
    return PlatformFacts(**base)  # type: ignore[arg-type]


def test_a_syncthing_that_answers_is_adopted_never_started_again() -> None:
    plan = plan_supervision(_facts(answering=True, packaged_unit=True), user_home=USER)
    assert plan.kind == "adopt"
    assert plan.argv == ()


def test_linux_default_home_with_the_packaged_unit_enables_the_user_unit() -> None:
    plan = plan_supervision(_facts(packaged_unit=True, systemd_user=True), user_home=USER)
    assert plan.kind == "systemd user unit"
    assert plan.survives_reboot
    assert plan.argv == (("systemctl", "--user", "enable", "--now", "syncthing.service"),)


def test_linux_other_home_runs_in_the_background_because_the_unit_serves_only_the_default() -> None:
    plan = plan_supervision(_facts(home_is_default=False, packaged_unit=True), user_home=USER)
    assert plan.kind == "background"
    assert not plan.survives_reboot
    assert "serves only its default home" in plan.sentence


def test_linux_without_a_user_manager_runs_in_the_background() -> None:
    plan = plan_supervision(_facts(), user_home=USER)
    assert plan.kind == "background"
    assert "no user service manager" in plan.sentence


def test_macos_installs_roam_s_own_launchd_agent_for_any_home() -> None:
    facts = _facts(platform="darwin", home_is_default=False, launchctl=True)
    plan = plan_supervision(facts, user_home=USER)
    agent = USER / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
    assert plan.kind == "launchd agent"
    assert plan.agent == agent
    assert plan.argv == (("launchctl", "load", "-w", str(agent)),)


def test_macos_without_launchctl_runs_in_the_background() -> None:
    assert plan_supervision(_facts(platform="darwin"), user_home=USER).kind == "background"


def test_an_enabled_user_unit_is_described_as_surviving_a_reboot() -> None:
    now = describe(_facts(answering=True, packaged_unit=True, unit_enabled=True))
    assert (now.kind, now.survives_reboot, now.running, now.by_roam) == (
        "systemd user unit",
        True,
        True,
        False,
    )


def test_a_unit_roam_enabled_is_roam_s_to_undo() -> None:
    now = describe(_facts(unit_enabled=True, recorded="systemd user unit"))
    assert now.by_roam


def test_an_enabled_unit_does_not_count_for_a_home_it_does_not_serve() -> None:
    now = describe(_facts(home_is_default=False, unit_enabled=True, answering=True))
    assert now.kind == "unknown"
    assert not now.survives_reboot


def test_brew_s_agent_counts_for_the_default_home_on_macos() -> None:
    facts = _facts(
        platform="darwin", launchd_agents=("homebrew.mxcl.syncthing.plist",), answering=True
    )
    now = describe(facts)
    assert now.kind == "launchd agent"
    assert "homebrew.mxcl.syncthing.plist" in now.detail
    assert not now.by_roam


def test_a_background_node_roam_started_is_roam_s_and_does_not_survive_a_reboot() -> None:
    now = describe(_facts(roam_pid=4242, answering=True, packaged_unit=True))
    assert now.kind == "started by roam"
    assert now.by_roam
    assert not now.survives_reboot
    assert now.fix == "systemctl --user enable --now syncthing.service"


def test_a_syncthing_nobody_known_started_is_unknown() -> None:
    now = describe(_facts(answering=True))
    assert now.kind == "unknown"
    assert not now.by_roam


def test_syncthing_s_launchd_agent_serves_the_home_it_names() -> None:
    argv = ["/opt/homebrew/bin/syncthing", "serve", "--home=/Users/u/Sync Home"]
    data = plistlib.loads(render_launchd_agent(argv, {"STNOUPGRADE": "1"}, Path("/tmp/l.log")))
    assert data["Label"] == LAUNCHD_LABEL
    assert data["ProgramArguments"] == argv
    assert data["EnvironmentVariables"] == {"STNOUPGRADE": "1"}
    assert data["RunAtLoad"] is True
    assert data["KeepAlive"] is True


def test_roam_watch_launchd_agent_is_a_valid_plist_running_this_python() -> None:
    argv = ["/usr/bin/python3", "-m", "session_roam", "watch"]
    data = plistlib.loads(render_launchd(argv, Path("/Users/u/Library/Logs/w & x.log")).encode())
    assert data["ProgramArguments"] == argv
    assert data["StandardErrorPath"] == "/Users/u/Library/Logs/w & x.log"
    assert data["RunAtLoad"] is True


def _tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, code: int) -> Path:
    calls = tmp_path / f"{name}.log"
    calls.touch()
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    script = tools / name
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit {code}\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    return calls


def test_watch_install_on_macos_loads_the_agent_with_launchctl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _tools(tmp_path, monkeypatch, "launchctl", 0)
    change = install_service(tmp_path, platform="launchd")
    assert change.path == tmp_path / "Library" / "LaunchAgents" / "dev.session-roam.watch.plist"
    assert calls.read_text().split() == ["load", "-w", str(change.path)]
    assert not change.activation_failed


def test_watch_install_reports_a_launchctl_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tools(tmp_path, monkeypatch, "launchctl", 1)
    assert install_service(tmp_path, platform="launchd").activation_failed


def test_watch_install_reports_a_failed_daemon_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _tools(tmp_path, monkeypatch, "systemctl", 1)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    change = install_service(tmp_path, platform="systemd")
    assert change.activation_failed
    assert calls.read_text().splitlines() == ["--user daemon-reload"]


def test_setup_on_macos_writes_and_loads_roam_s_syncthing_agent_and_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _tools(tmp_path, monkeypatch, "launchctl", 0)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(
        hostfacts, "serve_argv", lambda binary, home: [binary, "serve", f"--home={home}"]
    )
    st_home = tmp_path / "st"
    started = stservice.start_syncthing(
        "/bin/syncthing", st_home, use_systemd=False, enable=True, platform="darwin"
    )
    agent = tmp_path / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
    assert started.how.startswith("launchd agent")
    assert plistlib.loads(agent.read_bytes())["ProgramArguments"][-1] == f"--home={st_home}"
    assert calls.read_text().split() == ["load", "-w", str(agent)]
    assert hostfacts.recorded_supervision(st_home) == "launchd agent"


def test_setup_says_when_the_planned_supervision_failed_and_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tools(tmp_path, monkeypatch, "launchctl", 1)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(
        hostfacts, "serve_argv", lambda binary, home: [binary, "serve", f"--home={home}"]
    )
    monkeypatch.setattr(stservice, "spawn_detached", lambda _b, _h, _l: 4242)
    started = stservice.start_syncthing(
        "/bin/syncthing", tmp_path / "st", use_systemd=False, enable=True, platform="darwin"
    )
    assert started.pid == 4242
    assert "`launchctl load -w" in started.note
    assert "does not come back after a reboot" in started.note
    assert not (tmp_path / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist").exists()
    assert hostfacts.recorded_supervision(tmp_path / "st") == "started by roam"


def test_a_user_unit_started_by_hand_but_not_enabled_does_not_survive_a_reboot() -> None:
    now = describe(_facts(answering=True, packaged_unit=True, unit_active=True))
    assert (now.kind, now.survives_reboot) == ("systemd user unit", False)
    assert now.fix == "systemctl --user enable syncthing.service"
