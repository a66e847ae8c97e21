"""`roam watch install|uninstall` at the CLI boundary (without starting anything)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from session_roam.cli.app import app


def test_watch_install_no_start_writes_unit_and_says_where() -> None:
    result = CliRunner().invoke(app, ["watch", "install", "--no-start", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["changed"] is True
    assert Path(doc["path"]).is_file()


def test_watch_uninstall_without_unit_changes_nothing() -> None:
    result = CliRunner().invoke(app, ["watch", "uninstall", "--no-start"])
    assert result.exit_code == 0
    assert "already removed" in result.output


def test_watch_without_syncthing_fails_with_setup_code() -> None:
    result = CliRunner().invoke(
        app, ["watch"], env={"PATH": "/nonexistent", "ROAM_SYNCTHING_BIN": ""}
    )
    assert result.exit_code == 3
    assert "syncthing" in result.output.lower()
