from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from session_roam.cli.app import app


def test_app_without_arguments_shows_what_is_missing_and_the_next_command() -> None:
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0
    assert "syncthing" in result.output
    assert "Next:" in result.output


def test_app_help_still_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert "Usage" in result.output
    assert "demo" in result.output


def test_app_version_prints_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("roam ")


def test_module_entry_point_prints_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "session_roam", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "Claude Code" in result.stdout
