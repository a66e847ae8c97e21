from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.syncthing.node import PID_FILE, find_syncthing_binary, stop_pid
from session_roam.errors import SyncthingMissing

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
