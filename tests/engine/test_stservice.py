"""Starting this machine's Syncthing the way `roam setup` does, and whether it survives a reboot.

systemctl is a recording stand-in on PATH: no test here touches a real service manager.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.syncthing import service as stservice
from session_roam.engine.syncthing.node import PID_FILE
from session_roam.engine.syncthing.service import autostart, start_syncthing, wait_for_peers

if TYPE_CHECKING:
    from pathlib import Path

linux_only = pytest.mark.skipif(sys.platform == "darwin", reason="systemd is Linux's")


@pytest.fixture
def systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A systemctl that logs its arguments and prints ``$FAKE_SYSTEMCTL_OUT``; returns the log."""
    calls = tmp_path / "systemctl.log"
    tools = tmp_path / "tools"
    tools.mkdir()
    script = tools / "systemctl"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho "$FAKE_SYSTEMCTL_OUT"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    calls.touch()
    return calls


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Homes a background Syncthing would have been spawned for (nothing is spawned)."""
    homes: list[Path] = []

    def spawn(_binary: str, home: Path, _log: Path) -> int:
        homes.append(home)
        return 4242

    monkeypatch.setattr(stservice, "spawn_detached", spawn)
    return homes


@linux_only
def test_start_syncthing_starts_the_user_unit_without_enabling_it(
    systemctl: Path, spawned: list[Path], tmp_path: Path
) -> None:
    started = start_syncthing("syncthing", tmp_path, use_systemd=True, enable=False)
    assert started.how == "systemd user unit syncthing.service"
    assert systemctl.read_text().splitlines()[-1] == "--user start syncthing.service"
    assert spawned == []


@linux_only
def test_start_syncthing_for_setup_enables_the_user_unit(
    systemctl: Path, spawned: list[Path], tmp_path: Path
) -> None:
    start_syncthing("syncthing", tmp_path, use_systemd=True, enable=True)
    assert systemctl.read_text().splitlines()[-1] == "--user enable --now syncthing.service"


def test_start_syncthing_for_another_home_runs_it_in_the_background(
    systemctl: Path, spawned: list[Path], tmp_path: Path
) -> None:
    started = start_syncthing("syncthing", tmp_path, use_systemd=False, enable=False)
    assert spawned == [tmp_path]
    assert started.pid == 4242
    assert systemctl.read_text() == ""


def test_start_syncthing_honours_roam_no_systemd(
    systemctl: Path, spawned: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROAM_NO_SYSTEMD", "1")
    start_syncthing("syncthing", tmp_path, use_systemd=True, enable=False)
    assert spawned == [tmp_path]


@linux_only
def test_autostart_reports_an_enabled_user_unit(
    systemctl: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_SYSTEMCTL_OUT", "enabled")
    found = autostart(tmp_path, is_default=True)
    assert found.survives_reboot
    assert "syncthing.service is enabled" in found.how


@linux_only
def test_autostart_ignores_the_unit_for_a_home_it_does_not_serve(
    systemctl: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_SYSTEMCTL_OUT", "enabled")
    found = autostart(tmp_path, is_default=False)
    assert not found.survives_reboot
    assert found.fix == ""


@linux_only
def test_autostart_says_a_background_syncthing_will_not_come_back(
    systemctl: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_SYSTEMCTL_OUT", "disabled")
    (tmp_path / PID_FILE).write_text(f"{os.getpid()}\n")
    found = autostart(tmp_path, is_default=True)
    assert not found.survives_reboot
    assert f"started by roam in the background (pid {os.getpid()})" in found.how
    assert found.fix == "systemctl --user enable --now syncthing.service"


def _client(connected: set[str]) -> object:
    return SimpleNamespace(
        my_id=lambda: "ME",
        folder=lambda _fid: SimpleNamespace(device_ids=["ME", "PEER"]),
        connections=lambda: {d: SimpleNamespace(connected=True) for d in connected},
    )


def test_wait_for_peers_returns_once_every_peer_is_connected() -> None:
    assert wait_for_peers(_client({"PEER"}), "f", timeout_s=5)  # type: ignore[arg-type]  # a stand-in


def test_wait_for_peers_gives_up_at_its_deadline() -> None:
    assert not wait_for_peers(_client(set()), "f", timeout_s=0.2)  # type: ignore[arg-type]  # a stand-in
