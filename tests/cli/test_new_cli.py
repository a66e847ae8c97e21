"""`roam cn`, `roam cfork`, `roam crf` launch claude through `roam cr`'s path (a stand-in here)."""

from __future__ import annotations

import json
import os
import stat
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app

if TYPE_CHECKING:
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter

_STAND_IN = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["STANDIN_LOG"], "w") as handle:
    json.dump({"argv": sys.argv[1:], "cr": os.environ.get("ROAM_CR_SESSION")}, handle)
"""


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    binary = tmp_path / "bin" / "claude"
    binary.parent.mkdir()
    binary.write_text(_STAND_IN)
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "standin.json"
    monkeypatch.setenv("ROAM_CLAUDE_BIN", str(binary))
    monkeypatch.setenv("STANDIN_LOG", str(log))
    return log


def _argv(log: Path) -> list[str]:
    return list(json.loads(log.read_text())["argv"])


def test_cn_passes_a_fresh_session_id_and_the_name(
    writer: SessionWriter, cwd: Path, stand_in: Path
) -> None:
    result = CliRunner().invoke(app, ["cn", "notes-1", "--", "-p", "hi"])
    assert result.exit_code == 0, result.output
    argv = _argv(stand_in)
    assert argv[0] == "--session-id"
    assert argv[2:] == ["-n", "notes-1", "-p", "hi"]
    assert json.loads(stand_in.read_text())["cr"] == argv[1]


def test_cn_accepts_an_agent_name(writer: SessionWriter, cwd: Path, stand_in: Path) -> None:
    result = CliRunner().invoke(app, ["cn", "agent:reviewer/pr-42"])
    assert result.exit_code == 0, result.output
    assert _argv(stand_in)[2:4] == ["-n", "agent:reviewer/pr-42"]


def test_cn_refuses_a_name_with_spaces(writer: SessionWriter, cwd: Path, stand_in: Path) -> None:
    result = CliRunner().invoke(app, ["cn", "my notes"])
    assert result.exit_code == 2
    assert "not a valid session name" in result.stderr
    assert not stand_in.exists()


def test_cfork_resumes_with_fork_session(writer: SessionWriter, cwd: Path, stand_in: Path) -> None:
    path = writer.write(cwd, [("q", "a")])
    result = CliRunner().invoke(app, ["cfork", path.stem[:8]])
    assert result.exit_code == 0, result.output
    assert _argv(stand_in) == ["-r", path.stem, "--fork-session"]


def test_cfork_lists_candidates_for_an_unknown_id(
    writer: SessionWriter, cwd: Path, stand_in: Path
) -> None:
    path = writer.write(cwd, [("q", "a")], title="known")
    result = CliRunner().invoke(app, ["cfork", "nosuchname"])
    assert result.exit_code == 2
    assert path.stem in result.stderr
    assert not stand_in.exists()


def test_crf_forks_the_newest_session_without_sleeping(
    writer: SessionWriter, cwd: Path, stand_in: Path
) -> None:
    older = writer.write(cwd, [("old", "a")])
    newer = writer.write(cwd, [("new", "a")])
    older_time = newer.stat().st_mtime - 60
    os.utime(older, (older_time, older_time))
    result = CliRunner().invoke(app, ["crf"])
    assert result.exit_code == 0, result.output
    assert _argv(stand_in) == ["-r", newer.stem, "--fork-session"]


def test_crf_says_there_is_nothing_to_fork(
    writer: SessionWriter, cwd: Path, stand_in: Path
) -> None:
    result = CliRunner().invoke(app, ["crf"])
    assert result.exit_code == 2
    assert "No session to fork" in result.stderr
