"""`roam shell install|uninstall` through the CLI."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from session_roam.cli.app import app

if TYPE_CHECKING:
    from pathlib import Path


def test_shell_install_then_uninstall_round_trips_the_rc_file(clean_environ: Path) -> None:
    rc = clean_environ / ".bashrc"
    rc.write_text("export EDITOR=vim\n", encoding="utf-8")
    installed = CliRunner().invoke(app, ["shell", "install", "--shell", "bash"])
    assert installed.exit_code == 0
    assert "Added the shortcuts to" in installed.stdout
    assert "_roam_completion" in rc.read_text(encoding="utf-8")
    removed = CliRunner().invoke(app, ["shell", "uninstall", "--shell", "bash", "--json"])
    assert removed.exit_code == 0
    assert json.loads(removed.stdout)["changed"] is True
    assert rc.read_text(encoding="utf-8") == "export EDITOR=vim\n"


def test_shell_install_twice_reports_already_installed(clean_environ: Path) -> None:
    CliRunner().invoke(app, ["shell", "install", "--shell", "zsh"])
    again = CliRunner().invoke(app, ["shell", "install", "--shell", "zsh"])
    assert again.exit_code == 0
    assert "already in" in again.stdout


def test_shell_install_refuses_an_unknown_shell(clean_environ: Path) -> None:
    result = CliRunner().invoke(app, ["shell", "install", "--shell", "csh"])
    assert result.exit_code == 2
    assert "does not know the shell 'csh'" in result.stderr
