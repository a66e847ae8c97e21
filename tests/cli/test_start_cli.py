"""`roam` with no command: what this machine lacks, how to get it, and the next command."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from session_roam.cli.app import app
from tests.support.schemas import check_schema

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_roam_alone_names_a_missing_syncthing_and_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ROAM_SYNCTHING_BIN", raising=False)

    result = CliRunner().invoke(app, [])

    assert result.exit_code == 0
    assert "✗ syncthing" in result.output
    assert "Get it with:" in result.output


def test_roam_alone_on_a_fresh_machine_suggests_the_demo_then_setup() -> None:
    result = CliRunner().invoke(app, [])

    assert result.output.index("roam demo") < result.output.index("roam setup")


def test_roam_json_alone_reports_the_requirements_document() -> None:
    result = CliRunner().invoke(app, ["--json"])

    assert result.exit_code == 0
    check_schema(json.loads(result.stdout), "roam.requirements-1")
