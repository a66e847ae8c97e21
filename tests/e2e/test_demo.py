"""`roam demo` is the README's main job: it must work on a fresh machine, leave nothing behind."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from tests.support.procs import processes_mentioning
from tests.support.schemas import check_schema

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.e2e
def test_demo_merges_hands_over_and_stops_every_node() -> None:
    result = CliRunner().invoke(app, ["demo", "--json"])

    assert result.exit_code == 0, result.output
    check_schema(json.loads(result.stdout), "roam.demo-1")
    figures = json.loads(result.stdout)["figures"]
    assert "Write the release notes." not in figures["resumed_without_merge"]
    assert {"Write the release notes.", "Fix the flaky test."} <= set(figures["merged_prompts"])
    assert "is held by alpha" in figures["lease_refusal"]
    assert figures["handoff_s"] > 0
    assert list(processes_mentioning("roam-demo-").values()) == []


def test_demo_without_syncthing_exits_3_with_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ROAM_SYNCTHING_BIN", raising=False)

    result = CliRunner().invoke(app, ["demo"])

    assert result.exit_code == 3
    assert "Syncthing is not installed" in result.output
    assert "apt-get install syncthing" in result.output
