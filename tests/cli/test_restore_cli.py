"""`roam restore` and `roam rm` from the command line: exit codes, text and --json."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.deletions.archive import refresh_archive
from session_roam.errors import ExitCode

if TYPE_CHECKING:
    from pathlib import Path

SESSION = "0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40"
NOWHERE = "--syncthing-home=/nonexistent"  # no Syncthing: the archive alone answers


def _lost_session(home: Path) -> Path:
    projects = home / ".claude" / "projects"
    path = projects / "-p" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"a":1}\n')
    refresh_archive(projects)
    path.unlink()
    return path


def test_restore_without_arguments_only_lists(clean_environ: Path) -> None:
    path = _lost_session(clean_environ)
    result = CliRunner().invoke(app, ["restore", NOWHERE])
    assert result.exit_code == 0
    assert SESSION in result.stdout
    assert not path.exists()


def test_restore_all_brings_the_session_back(clean_environ: Path) -> None:
    path = _lost_session(clean_environ)
    result = CliRunner().invoke(app, ["restore", "--all", NOWHERE, "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["restored"] == [f"-p/{SESSION}.jsonl"]
    assert path.read_bytes() == b'{"a":1}\n'


def test_restore_refuses_an_id_and_all_together(clean_environ: Path) -> None:
    result = CliRunner().invoke(app, ["restore", SESSION, "--all", NOWHERE])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "not both" in result.stderr


def test_restore_of_a_session_not_lost_exits_2(clean_environ: Path) -> None:
    result = CliRunner().invoke(app, ["restore", SESSION, NOWHERE])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "not among the sessions this machine lost" in result.stderr


def test_rm_without_a_terminal_or_yes_asks_for_confirmation(clean_environ: Path) -> None:
    result = CliRunner().invoke(app, ["rm", SESSION, NOWHERE])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "--yes" in result.stderr


def test_rm_refuses_a_name_that_is_not_a_session_id(clean_environ: Path) -> None:
    result = CliRunner().invoke(app, ["rm", "../etc", "--yes", NOWHERE])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "not a session id" in result.stderr


def test_rm_json_reports_the_backup(clean_environ: Path) -> None:
    path = _lost_session(clean_environ)
    path.write_bytes(b'{"a":1}\n')
    result = CliRunner().invoke(app, ["rm", SESSION, "--yes", "--json", NOWHERE])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert (doc["files"], doc["backup"] is not None) == ([f"-p/{SESSION}.jsonl"], True)
    assert not path.exists()
