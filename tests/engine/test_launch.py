from __future__ import annotations

import os
import signal
import stat
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.claude.launch import find_claude, run_child
from session_roam.errors import ClaudeMissing

if TYPE_CHECKING:
    from pathlib import Path

_WAITER = """
import signal, sys, time, pathlib
out = pathlib.Path(sys.argv[1])
def on(sig, frame):
    out.write_text(f"got {sig}")
    sys.exit(int(sys.argv[2]))
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, on)
out.write_text("ready")
time.sleep(30)
"""


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_find_claude_prefers_roam_claude_bin(tmp_path: Path) -> None:
    binary = _executable(tmp_path / "my-claude", "#!/bin/sh\n")
    assert find_claude({"ROAM_CLAUDE_BIN": str(binary), "PATH": ""}) == binary


def test_find_claude_uses_path(tmp_path: Path) -> None:
    binary = _executable(tmp_path / "claude", "#!/bin/sh\n")
    assert find_claude({"PATH": str(tmp_path)}) == binary


def test_find_claude_raises_when_missing(tmp_path: Path) -> None:
    with pytest.raises(ClaudeMissing, match="not installed"):
        find_claude({"PATH": str(tmp_path)})


def test_find_claude_raises_when_roam_claude_bin_is_not_executable(tmp_path: Path) -> None:
    plain = tmp_path / "claude"
    plain.write_text("")
    with pytest.raises(ClaudeMissing, match="ROAM_CLAUDE_BIN"):
        find_claude({"ROAM_CLAUDE_BIN": str(plain)})


def test_run_child_returns_the_exit_code() -> None:
    result = run_child([sys.executable, "-c", "raise SystemExit(7)"])
    assert result.exit_code == 7
    assert result.signals == ()


def test_run_child_maps_death_by_signal_to_128_plus_n() -> None:
    result = run_child([sys.executable, "-c", "import os; os.kill(os.getpid(), 9)"])
    assert result.exit_code == 128 + 9


def test_run_child_raises_claude_missing_for_a_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(ClaudeMissing, match="Could not start"):
        run_child([str(tmp_path / "nope")])


def _signal_self_when_ready(marker: Path, signum: int) -> threading.Thread:
    def fire() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text() == "ready":
                os.kill(os.getpid(), signum)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_run_child_forwards_signals_and_waits_for_the_child(tmp_path: Path, signum: int) -> None:
    marker = tmp_path / "marker"
    thread = _signal_self_when_ready(marker, signum)
    result = run_child([sys.executable, "-c", _WAITER, str(marker), "3"])
    thread.join()
    assert marker.read_text() == f"got {int(signum)}"
    assert result.exit_code == 3
    assert result.signals == (signum,)


def test_run_child_restores_previous_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    run_child([sys.executable, "-c", "pass"])
    assert signal.getsignal(signal.SIGTERM) is before
