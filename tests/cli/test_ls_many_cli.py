"""`roam ls` for many sessions: sort, limit, filters by project, machine and date, the JSON
written as it goes, and rows drawn line by line past the table's size."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.sessions.listing import LeaseFacts
from session_roam.engine.sessions.ls_query import LsQuery, parse_when
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _ids(out: str) -> list[str]:
    return [row["session_id"] for row in json.loads(out)]


@pytest.fixture
def three(writer: SessionWriter, cwd: Path, tmp_path: Path) -> list[Path]:
    """Three sessions: ``small`` in cwd, ``big`` in another project, ``old`` from last year."""
    other = tmp_path / "elsewhere" / "api"
    other.mkdir(parents=True)
    small = writer.write(cwd, [("small one", "a")])
    big = writer.write(other, [("big one " + "x" * 4000, "b")] * 3)
    old = writer.write(cwd, [("old one", "c")])
    year_ago = time.time() - 400 * 86400
    os.utime(old, (year_ago, year_ago))
    data = old.read_bytes().replace(b'"timestamp":"2026', b'"timestamp":"2025')
    old.write_bytes(data)
    os.utime(old, (year_ago, year_ago))
    return [small, big, old]


def test_ls_sorts_by_size_and_limits(three: list[Path]) -> None:
    code, out, _ = _run("ls", "--all", "--json", "--sort", "size", "--limit", "1")
    assert code == 0
    assert _ids(out) == [three[1].stem]


def test_ls_filters_by_project(three: list[Path]) -> None:
    code, out, _ = _run("ls", "--all", "--json", "--project", "elsewhere/api")
    assert code == 0
    assert _ids(out) == [three[1].stem]


def test_ls_filters_by_date(three: list[Path]) -> None:
    code, out, _ = _run("ls", "--all", "--json", "--until", "2026-01-01")
    assert code == 0
    assert _ids(out) == [three[2].stem]


def test_ls_filters_by_machine(three: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    facts = {three[0].stem: LeaseFacts("laptop", "laptop", running=True)}
    monkeypatch.setattr("session_roam.cli.sessions.lease_facts", lambda _dir: facts)
    code, out, _ = _run("ls", "--all", "--json", "--machine", "lap")
    assert code == 0
    (row,) = json.loads(out)
    assert (row["session_id"], row["lease_holder"], row["claude_running"]) == (
        three[0].stem,
        "laptop",
        True,
    )


def test_ls_refuses_a_date_it_cannot_read_with_exit_2(three: list[Path]) -> None:
    code, _, err = _run("ls", "--all", "--since", "last tuesday")
    assert code == 2
    assert "not a date" in err


def test_ls_refuses_an_unknown_sort_with_exit_2(three: list[Path]) -> None:
    code, _, err = _run("ls", "--all", "--sort", "colour")
    assert code == 2
    assert "--sort" in err


def test_ls_json_is_one_document_with_every_field(three: list[Path]) -> None:
    code, out, _ = _run("ls", "--all", "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 3
    assert {"claude_running", "last_written", "lease_holder", "last_writer"} <= set(rows[0])


def test_ls_past_the_table_size_draws_one_line_per_session(
    three: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("session_roam.cli.sessions.TABLE_MAX_ROWS", 1)
    code, out, _ = _run("ls", "--all")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("id")
    assert sorted(line[:8] for line in lines[1:]) == sorted(p.stem[:8] for p in three)
    assert lines[-1][:8] == three[2].stem[:8]  # the oldest last


def test_parse_when_reads_dates_and_ages() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert parse_when("7d", now=now) == now - timedelta(days=7)
    assert parse_when("36h", now=now) == now - timedelta(hours=36)
    assert parse_when("2026-05-01", now=now) == datetime(2026, 5, 1, tzinfo=UTC)


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(InvalidInput):
        LsQuery(limit=0)
