"""`roam backups`: the store against its bound, --prune, --json, and bad bounds refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.core.backup import Original, create_backup, list_backups
from session_roam.engine.core.backup_bound import config_path
from tests.engine.sessiontree import SID

if TYPE_CHECKING:
    from pathlib import Path


def _old_backup(tmp_path: Path, days: float) -> Path:
    return create_backup(
        session_id=SID,
        project_dir=tmp_path,
        originals=[Original(f"{SID}.jsonl", b"x" * 10_000)],
        now=datetime.now(UTC) - timedelta(days=days),
    ).path


def test_backups_reports_size_count_and_bound(tmp_path: Path) -> None:
    _old_backup(tmp_path, 2)
    result = CliRunner().invoke(app, ["backups"])
    assert result.exit_code == 0, result.output
    assert "in 1 backup(s), the oldest 2.0 days old" in result.output
    assert "kept 14 days; at most 90 days and 2048 MB" in result.output


def test_backups_json_is_one_document_with_the_bound(tmp_path: Path) -> None:
    old = _old_backup(tmp_path, 100)
    result = CliRunner().invoke(app, ["backups", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["schema"] == "roam.backups/1"
    assert doc["bound"] == {"keep_days": 14.0, "max_days": 90.0, "max_mb": 2048.0}
    assert doc["beyond_bound"] == [str(old)]
    assert doc["pruned"] is False


def test_backups_without_prune_removes_nothing(tmp_path: Path) -> None:
    _old_backup(tmp_path, 100)
    CliRunner().invoke(app, ["backups"])
    assert len(list_backups(SID)) == 1


def test_backups_prune_removes_what_is_beyond_the_bound(tmp_path: Path) -> None:
    _old_backup(tmp_path, 100)
    young = _old_backup(tmp_path, 1)
    result = CliRunner().invoke(app, ["backups", "--prune"])
    assert result.exit_code == 0, result.output
    assert "Pruned 1 backup(s)" in result.output
    assert [b.path for b in list_backups(SID)] == [young]


def test_backups_options_override_the_configured_bound(tmp_path: Path) -> None:
    _old_backup(tmp_path, 10)
    result = CliRunner().invoke(app, ["backups", "--prune", "--keep-days", "5", "--max-days", "7"])
    assert result.exit_code == 0, result.output
    assert list_backups(SID) == ()


def test_backups_reads_the_bound_from_config_toml() -> None:
    config_path().write_text("[backups]\nkeep_days = 1\nmax_days = 2\nmax_mb = 10\n")
    doc = json.loads(CliRunner().invoke(app, ["backups", "--json"]).output)
    assert doc["bound"] == {"keep_days": 1.0, "max_days": 2.0, "max_mb": 10.0}


def test_backups_refuses_a_bad_bound_with_exit_2_and_the_fix() -> None:
    config_path().write_text('[backups]\nmax_mb = "big"\n')
    result = CliRunner().invoke(app, ["backups"])
    assert result.exit_code == 2
    assert "max_mb must be a number of megabytes" in result.output
    assert "Traceback" not in result.output


def test_backups_bad_bound_under_json_is_an_error_document() -> None:
    result = CliRunner().invoke(app, ["--json", "backups", "--keep-days", "9", "--max-days", "3"])
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["type"] == "InvalidInput"
