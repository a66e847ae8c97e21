"""`roam demo` is the README's main job: it must work on a fresh machine, leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from tests.support.schemas import check_schema


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in argv:
            found.append(argv)
    return found


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
    assert _processes_mentioning("roam-demo-") == []


def test_demo_without_syncthing_exits_3_with_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ROAM_SYNCTHING_BIN", raising=False)

    result = CliRunner().invoke(app, ["demo"])

    assert result.exit_code == 3
    assert "Syncthing is not installed" in result.output
    assert "apt-get install syncthing" in result.output
