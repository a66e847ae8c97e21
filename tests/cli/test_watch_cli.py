"""`roam watch install|uninstall` at the CLI boundary (without starting anything)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app

if TYPE_CHECKING:
    from tests.support.service_manager import FakeSystemctl

pytest_plugins = ["tests.support.service_manager"]


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


def test_watch_install_names_a_claude_dir_given_to_roam(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    argv = ["--claude-dir", str(claude), "watch", "install", "--no-start", "--json"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    unit = Path(json.loads(result.output)["path"]).read_text()
    assert f"--claude-dir {claude} watch" in unit


@pytest.mark.skipif(sys.platform == "darwin", reason="systemd is Linux's")
def test_watch_install_under_roam_no_systemd_never_calls_systemctl(
    fake_systemctl: FakeSystemctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROAM_NO_SYSTEMD", "1")
    result = CliRunner().invoke(app, ["watch", "install"])
    assert result.exit_code == 3
    assert "ROAM_NO_SYSTEMD is set" in result.output
    assert fake_systemctl.calls() == []
