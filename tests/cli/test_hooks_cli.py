from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.sessions.journal import Journal

if TYPE_CHECKING:
    from pathlib import Path

SID = "aaaaaaaa-1111-4111-8111-111111111111"


def _settings(home: Path) -> Path:
    return home / ".claude" / "settings.json"


def test_hooks_install_then_status_reports_installed(clean_environ: Path) -> None:
    settings = _settings(clean_environ)
    settings.parent.mkdir()
    settings.write_text(json.dumps({"hooks": {"Stop": [{"hooks": []}]}, "model": "x"}))
    result = CliRunner().invoke(app, ["hooks", "install"])
    assert result.exit_code == 0
    assert f"Updated {settings}" in result.output
    status = CliRunner().invoke(app, ["hooks", "status"])
    assert "SessionStart: installed" in status.output
    assert "SessionEnd: installed" in status.output
    assert json.loads(settings.read_text())["model"] == "x"


def test_hooks_install_twice_says_nothing_to_do(clean_environ: Path) -> None:
    CliRunner().invoke(app, ["hooks", "install"])
    result = CliRunner().invoke(app, ["hooks", "install"])
    assert result.exit_code == 0
    assert "Nothing to do" in result.output


def test_hooks_uninstall_json_reports_the_change(clean_environ: Path) -> None:
    CliRunner().invoke(app, ["hooks", "install"])
    result = CliRunner().invoke(app, ["--json", "hooks", "uninstall"])
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert (document["action"], document["changed"]) == ("has no roam hooks", True)


def test_hooks_install_refuses_broken_settings(clean_environ: Path) -> None:
    settings = _settings(clean_environ)
    settings.parent.mkdir()
    settings.write_text("{")
    result = CliRunner().invoke(app, ["hooks", "install"])
    assert result.exit_code == 2
    assert "not valid JSON" in result.output


def test_hooks_status_when_nothing_is_installed(clean_environ: Path) -> None:
    result = CliRunner().invoke(app, ["hooks", "status"])
    assert result.exit_code == 0
    assert "SessionStart: missing" in result.output


def _payload(path: Path, event: str) -> str:
    return json.dumps(
        {"session_id": SID, "transcript_path": str(path), "cwd": "/w", "hook_event_name": event}
    )


def test_hooks_run_journals_a_plain_claude_session(clean_environ: Path, tmp_path: Path) -> None:
    path = tmp_path / f"{SID}.jsonl"
    path.write_text(json.dumps({"type": "user", "uuid": "u1", "parentUuid": None}) + "\n")
    start = CliRunner().invoke(
        app, ["hooks", "run", "session-start"], input=_payload(path, "SessionStart")
    )
    with path.open("a") as handle:
        handle.write(json.dumps({"type": "user", "uuid": "u2", "parentUuid": "u1"}) + "\n")
    end = CliRunner().invoke(
        app, ["hooks", "run", "session-end"], input=_payload(path, "SessionEnd")
    )
    assert (start.exit_code, end.exit_code) == (0, 0)
    assert "not protected" in start.output
    assert len(Journal().records(SID)) == 1


def test_hooks_run_never_fails_on_a_bad_payload(clean_environ: Path) -> None:
    result = CliRunner().invoke(app, ["hooks", "run", "session-start"], input="garbage")
    assert result.exit_code == 0
    assert "not JSON" in result.output
