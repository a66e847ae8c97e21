"""`roam verify` at the CLI boundary: exit codes, plain text and the JSON document."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.verify import run as engine_verify
from session_roam.engine.verify.model import Finding, FixAction, Status, VerifyReport
from session_roam.errors import ExitCode

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest
    from typer.testing import Result

    from session_roam.engine.verify.connect import VerifyRequest

OK = Finding("service", Status.OK, "Syncthing v1.19.2 is running.")
BAD = Finding("ignore", Status.FAIL, "There is no .stignore.", fix="roam verify --fix", auto=True)


def fake(report: VerifyReport, seen: list[bool]) -> Callable[..., VerifyReport]:
    def run(request: VerifyRequest, *, fix: bool = False) -> VerifyReport:
        seen.append(fix)
        return report

    return run


def invoke(
    monkeypatch: pytest.MonkeyPatch, report: VerifyReport, *args: str
) -> tuple[Result, list[bool]]:
    seen: list[bool] = []
    monkeypatch.setattr(engine_verify, "verify", fake(report, seen))
    return CliRunner().invoke(app, ["verify", *args]), seen


def test_verify_cli_exits_0_and_says_all_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _ = invoke(monkeypatch, VerifyReport((OK,)))
    assert result.exit_code == 0
    assert "All checks passed." in result.output


def test_verify_cli_exits_7_and_prints_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _ = invoke(monkeypatch, VerifyReport((OK, BAD)))
    assert result.exit_code == ExitCode.VERIFY_FAILED
    assert "fix: roam verify --fix" in result.output
    assert "1 problem(s), 0 warning(s)." in result.output


def test_verify_cli_json_document_is_stable(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _ = invoke(monkeypatch, VerifyReport((OK, BAD)), "--json")
    doc = json.loads(result.output)
    assert doc["schema"] == "roam.verify/1"
    assert doc["ok"] is False
    assert doc["dimensions"]["ignore"] == "fail"
    assert doc["findings"][1] == {
        "dimension": "ignore",
        "status": "fail",
        "message": "There is no .stignore.",
        "fix": "roam verify --fix",
        "auto_fix": True,
        "subject": "",
    }


def test_verify_cli_fix_reports_what_it_did(monkeypatch: pytest.MonkeyPatch) -> None:
    action = FixAction("ignore", "stignore-installed", "Installed roam's .stignore.", True)
    result, seen = invoke(monkeypatch, VerifyReport((OK,), (action,), fixed=True), "--fix")
    assert seen == [True]
    assert "fixed: ignore: Installed roam's .stignore." in result.output


def test_verify_cli_without_syncthing_fails_service() -> None:
    result = CliRunner().invoke(
        app, ["verify", "--json"], env={"PATH": "/nonexistent", "ROAM_SYNCTHING_BIN": ""}
    )
    doc = json.loads(result.output)
    assert result.exit_code == ExitCode.VERIFY_FAILED
    assert doc["dimensions"]["service"] == "fail"
