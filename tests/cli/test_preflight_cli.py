"""`roam setup` and `roam demo` check what they need before they write or start anything."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.syncthing.version import binary_version

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def old_syncthing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Syncthing older than roam supports (it only answers --version)."""
    binary = tmp_path / "bin" / "syncthing"
    binary.parent.mkdir()
    binary.write_text('#!/bin/sh\necho "syncthing v1.10.0 \\"Fermium Flea\\" (go1.15)"\n')
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("ROAM_SYNCTHING_BIN", str(binary))
    binary_version.cache_clear()
    return binary


@pytest.mark.parametrize("command", ["setup", "demo"])
def test_an_unsupported_syncthing_is_refused_before_anything_is_written(
    command: str, old_syncthing: Path, clean_environ: Path
) -> None:
    result = CliRunner().invoke(app, [command])

    assert result.exit_code == 3, result.output
    assert "Syncthing 1.10.0 is not supported" in result.output
    assert not (clean_environ / ".config" / "syncthing").exists()
    assert not (clean_environ / ".config" / "session-roam").exists()
