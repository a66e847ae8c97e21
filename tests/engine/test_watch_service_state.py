from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.setup.watch_service import service_file, service_state

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_service_state_without_a_unit_is_not_installed(tmp_path: Path) -> None:
    assert service_state(tmp_path, platform="systemd") == "not installed"


def test_service_state_with_a_unit_but_no_service_manager_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit = service_file("systemd", tmp_path)
    unit.parent.mkdir(parents=True)
    unit.write_text("[Unit]\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    assert service_state(tmp_path, platform="systemd") == "installed"


def test_service_state_asks_launchctl_on_macos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = service_file("launchd", tmp_path)
    agent.parent.mkdir(parents=True)
    agent.write_text("<plist/>\n")
    tools = tmp_path / "bin"
    tools.mkdir()
    launchctl = tools / "launchctl"
    launchctl.write_text("#!/bin/sh\necho '{ \"PID\" = 4242; };'\nexit 0\n")
    launchctl.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))

    assert service_state(tmp_path, platform="launchd") == "running"
