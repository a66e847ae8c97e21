"""The `roam watch` service's text: paths quoted for systemd, the shell's roam folders carried
over, nothing that could start a new unit line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from session_roam.engine.setup.service_text import render_launchd, render_systemd, service_env
from session_roam.errors import SetupError

if TYPE_CHECKING:
    from pathlib import Path

PYTHON = "/venv/bin/python"


def _exec_line(unit: str) -> str:
    return next(line for line in unit.splitlines() if line.startswith("ExecStart="))


def test_a_plain_command_is_written_as_is() -> None:
    unit = render_systemd([PYTHON, "-P", "-m", "session_roam", "watch"])
    assert _exec_line(unit) == f"ExecStart={PYTHON} -P -m session_roam watch"


@pytest.mark.parametrize(
    ("path", "written"),
    [
        ("/home/a/My Claude", '"/home/a/My Claude"'),
        ("/home/a/100%h", '"/home/a/100%%h"'),
        ("/home/a/$HOME", '"/home/a/$$HOME"'),
        ('/home/a/say "hi"', '"/home/a/say \\"hi\\""'),
        ("/home/a/back\\slash", '"/home/a/back\\\\slash"'),
        ("/home/a/semi;colon", '"/home/a/semi;colon"'),
    ],
)
def test_an_argument_systemd_would_expand_or_split_is_quoted_and_escaped(
    path: str, written: str
) -> None:
    unit = render_systemd([PYTHON, "--claude-dir", path, "watch"])
    assert _exec_line(unit) == f"ExecStart={PYTHON} --claude-dir {written} watch"


@pytest.mark.parametrize("bad", ["/x\nExecStartPre=/bin/true", "/x\ty", "/x\x1b[31m"])
def test_an_argument_with_a_control_character_is_refused(bad: str) -> None:
    with pytest.raises(SetupError, match="control character"):
        render_systemd([PYTHON, "--claude-dir", bad, "watch"])


def test_the_shells_state_folder_is_carried_into_the_unit() -> None:
    unit = render_systemd([PYTHON, "watch"], {"XDG_STATE_HOME": "/home/a/my state"})
    assert 'Environment="XDG_STATE_HOME=/home/a/my state"\n' in unit


def test_only_roams_folders_are_carried_never_the_api_key() -> None:
    env = service_env({"XDG_STATE_HOME": "/s", "STGUIAPIKEY": "secret", "PATH": "/bin"})
    assert env == {"XDG_STATE_HOME": "/s"}


def test_the_launchd_agent_carries_the_same_folders_escaped(tmp_path: Path) -> None:
    plist = render_launchd([PYTHON, "watch"], tmp_path / "log", {"XDG_STATE_HOME": "/a&b"})
    assert "<key>EnvironmentVariables</key>" in plist
    assert "<key>XDG_STATE_HOME</key><string>/a&amp;b</string>" in plist
