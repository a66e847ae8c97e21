"""`roam cs` in a real terminal (tmux): pick with fzf or the built-in list, resume through cr."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from tests.engine.sessions_fixtures import SessionWriter

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

_STAND_IN = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["STANDIN_LOG"], "w") as handle:
    json.dump(sys.argv[1:], handle)
"""


class Terminal:
    """One detached tmux server and pane, driven with send-keys and read with capture-pane."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "roam")

    def wait_for(self, text: str, timeout_s: float = 20.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path / "tmux.sock")
    yield term
    term.tmux("kill-server")


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    binary = tmp_path / "bin" / "claude"
    binary.parent.mkdir()
    binary.write_text(_STAND_IN)
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


def _start(terminal: Terminal, cwd: Path, home: Path, stand_in: Path, *args: str) -> Path:
    log = home / "standin.json"
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", ""),
        "TERM": "xterm-256color",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "ROAM_CLAUDE_BIN": str(stand_in),
        "STANDIN_LOG": str(log),
        "NO_COLOR": "1",
    }
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    roam = f"{shlex.quote(sys.executable)} -m session_roam cs {' '.join(args)}"
    command = f"cd {shlex.quote(str(cwd))} && env -i {exports} {roam}; echo EXIT=$?; sleep 30"
    terminal.tmux("new-session", "-d", "-s", "roam", "-x", "120", "-y", "30", command)
    return log


@pytest.fixture
def sessions(clean_environ: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    cwd = (tmp_path / "proj").resolve()
    cwd.mkdir()
    writer = SessionWriter(clean_environ / ".claude")
    older = writer.write(cwd, [("the older pelican talk", "ok")])
    newer = writer.write(cwd, [("the newer walrus talk", "ok")], title="walrus-notes")
    os.utime(older, (time.time() - 600, time.time() - 600))
    return cwd, [newer.stem, older.stem]


@pytest.mark.skipif(shutil.which("fzf") is None, reason="fzf is not installed")
def test_cs_with_fzf_filters_previews_and_resumes_the_pick(
    terminal: Terminal, sessions: tuple[Path, list[str]], clean_environ: Path, stand_in: Path
) -> None:
    cwd, (_newer, older) = sessions
    log = _start(terminal, cwd, clean_environ, stand_in)
    terminal.wait_for("walrus-notes")
    terminal.tmux("send-keys", "-t", "roam", "pelican")
    terminal.wait_for("you: the older pelican talk")  # the preview pane of the filtered pick
    terminal.tmux("send-keys", "-t", "roam", "Enter")
    terminal.wait_for("EXIT=0")
    assert json.loads(log.read_text()) == ["-r", older]


def test_cs_builtin_list_resumes_by_number(
    terminal: Terminal, sessions: tuple[Path, list[str]], clean_environ: Path, stand_in: Path
) -> None:
    cwd, (newer, _older) = sessions
    log = _start(terminal, cwd, clean_environ, stand_in, "--no-fzf")
    terminal.wait_for("Resume which?")
    terminal.tmux("send-keys", "-t", "roam", "p 1", "Enter")
    terminal.wait_for("you: the newer walrus talk")
    terminal.tmux("send-keys", "-t", "roam", "1", "Enter")
    terminal.wait_for("EXIT=0")
    assert json.loads(log.read_text()) == ["-r", newer]


def test_cs_builtin_list_quits_on_empty_answer(
    terminal: Terminal, sessions: tuple[Path, list[str]], clean_environ: Path, stand_in: Path
) -> None:
    cwd, _ = sessions
    log = _start(terminal, cwd, clean_environ, stand_in, "--no-fzf")
    terminal.wait_for("Resume which?")
    terminal.tmux("send-keys", "-t", "roam", "Enter")
    terminal.wait_for("EXIT=0")
    assert not log.exists()
