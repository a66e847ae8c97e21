from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.core import xdg
from session_roam.engine.sessions.journal import Journal
from tests.support.litter import dead_temp_name

if TYPE_CHECKING:
    from pathlib import Path

SID = "aaaaaaaa-1111-4111-8111-111111111111"


def _row(uuid: str, parent: str | None, text: str) -> str:
    return json.dumps(
        {
            "type": "user",
            "uuid": uuid,
            "parentUuid": parent,
            "sessionId": SID,
            "timestamp": f"2026-11-25T12:00:0{uuid[-1]}.000Z",
            "message": {"role": "user", "content": text},
        }
    )


def _write(path: Path, *rows: str) -> None:
    path.write_text("".join(row + "\n" for row in rows))


@pytest.fixture
def lost_turn(clean_environ: Path) -> Path:
    """A session whose journaled last turn (u4) a stale peer copy overwrote."""
    folder = clean_environ / ".claude" / "projects" / "-work-proj"
    folder.mkdir(parents=True)
    path = folder / f"{SID}.jsonl"
    _write(path, _row("u1", None, "one"), _row("u2", "u1", "two"))
    journal = Journal()
    journal.record(path, "launch")
    with path.open("a") as handle:
        handle.write(_row("u3", "u2", "three") + "\n" + _row("u4", "u3", "four") + "\n")
    journal.record(path, "release")
    _write(path, _row("u1", None, "one"), _row("u2", "u1", "two"), _row("u3", "u2", "three"))
    return path


def test_journal_status_reports_missing_rows(lost_turn: Path) -> None:
    result = CliRunner().invoke(app, ["journal", "status", "--json"])
    assert result.exit_code == 0
    (entry,) = json.loads(result.output)["sessions"]
    assert (entry["session_id"], entry["records"], entry["missing"]) == (SID, 2, 1)


def test_journal_restore_puts_the_lost_turn_back(lost_turn: Path) -> None:
    result = CliRunner().invoke(app, ["journal", "restore", "aaaa"])
    assert result.exit_code == 0, result.output
    assert "Restored 1 rows" in result.output
    uuids = [json.loads(line)["uuid"] for line in lost_turn.read_text().splitlines()]
    assert "u4" in uuids


def test_journal_restore_removes_the_temp_a_killed_restore_left(lost_turn: Path) -> None:
    folder = xdg.state_dir() / "restore"
    folder.mkdir()
    (folder / dead_temp_name(f"{SID}.x.jsonl")).write_text("half a version\n")
    assert CliRunner().invoke(app, ["journal", "restore", SID]).exit_code == 0
    assert list(folder.iterdir()) == []


def test_journal_restore_when_nothing_is_missing(lost_turn: Path) -> None:
    CliRunner().invoke(app, ["journal", "restore", SID])
    result = CliRunner().invoke(app, ["journal", "restore", SID])
    assert result.exit_code == 0
    assert "Nothing to restore" in result.output


def test_journal_restore_unknown_session_exits_2(clean_environ: Path) -> None:
    result = CliRunner().invoke(app, ["journal", "restore", "bbbb"])
    assert result.exit_code == 2
    assert "no journal for 'bbbb'" in result.output


def test_journal_status_with_nothing_journaled(clean_environ: Path) -> None:
    result = CliRunner().invoke(app, ["journal", "status"])
    assert result.exit_code == 0
    assert "Nothing journaled" in result.output
