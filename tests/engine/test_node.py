from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.syncthing.node import (
    PID_FILE,
    find_syncthing_binary,
    spawn_detached,
    stop_pid,
)
from session_roam.errors import SetupError, SyncthingMissing

if TYPE_CHECKING:
    from pathlib import Path


def test_stop_pid_never_kills_a_process_that_is_not_our_node(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / PID_FILE).write_text(f"{stranger.pid}\n")
        stop_pid(tmp_path)
        assert stranger.poll() is None
        assert not (tmp_path / PID_FILE).exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_stop_pid_without_pid_file_does_nothing(tmp_path: Path) -> None:
    stop_pid(tmp_path)


def test_find_syncthing_binary_missing_is_setup_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ROAM_SYNCTHING_BIN", raising=False)
    with pytest.raises(SyncthingMissing, match="no `syncthing` on PATH"):
        find_syncthing_binary()


def test_find_syncthing_binary_honours_roam_syncthing_bin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "my-syncthing"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ROAM_SYNCTHING_BIN", str(fake))
    assert find_syncthing_binary() == str(fake)


def test_find_syncthing_binary_refuses_roam_syncthing_bin_naming_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROAM_SYNCTHING_BIN", str(tmp_path / "nonexistent"))
    with pytest.raises(SyncthingMissing, match=r"ROAM_SYNCTHING_BIN names .*nonexistent, which is"):
        find_syncthing_binary()


def test_find_syncthing_binary_never_falls_back_to_path_when_roam_syncthing_bin_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = tmp_path / "syncthing"
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ROAM_SYNCTHING_BIN", str(tmp_path))  # a folder, not a binary
    with pytest.raises(SyncthingMissing, match="not an executable file"):
        find_syncthing_binary()


def test_spawn_detached_refuses_a_binary_older_than_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mixed-version restart the issue saw: 1.19.2 started on a config 1.29.5 wrote."""
    old = tmp_path / "syncthing-1.19"
    old.write_text('#!/bin/sh\necho "syncthing v1.19.2-ds1 (go1.19.8 linux-amd64)"\n')
    old.chmod(0o755)
    home = tmp_path / "st"
    home.mkdir()
    (home / "config.xml").write_text('<configuration version="37">\n</configuration>\n')
    with pytest.raises(SetupError, match=r"cannot read the config .* Syncthing 1\.22\.0 or newer"):
        spawn_detached(str(old), home, tmp_path / "log")
    assert not (home / PID_FILE).exists()
