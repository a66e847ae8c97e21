"""The `roam cf --json` fast entry point: same output and exit codes as the full command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from session_roam.cli.fast import parse_fast_cf
from tests.engine.sessions_fixtures import SessionWriter

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    "argv",
    [
        ["cf", "--help"],
        ["cf", "word"],  # not --json: people get the rich rendering
        ["ls", "--json"],
        ["cf", "--json"],
        ["--verbose", "cf", "--json", "x"],
        ["cf", "--json", "--", "x"],
        ["cf", "--json", "--limit", "many", "x"],
    ],
)
def test_parse_fast_cf_leaves_other_command_lines_to_the_full_app(argv: list[str]) -> None:
    assert parse_fast_cf(argv) is None


def test_parse_fast_cf_reads_the_options() -> None:
    options = parse_fast_cf(["--json", "cf", "rate", "limit", "--all", "-n", "5"])
    assert options is not None
    assert (options["words"], options["all"], options["limit"]) == (["rate", "limit"], True, 5)


#: The full typer app alone (``python -m session_roam`` would take the fast path again).
_FULL = ("-c", "import sys; from session_roam.cli.app import main; sys.argv[0] = 'roam'; main()")
_FAST = ("-m", "session_roam.cli.fast")


def _roam(entry: tuple[str, str], args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *entry, *args],
        cwd=cwd,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args", [["cf", "--json", "pelican"], ["cf", "--json", "absent"], ["--json", "cf", ""]]
)
def test_fast_cf_prints_what_the_full_app_prints(
    clean_environ: Path, tmp_path: Path, args: list[str]
) -> None:
    cwd = tmp_path / "proj"
    cwd.mkdir()
    SessionWriter(clean_environ / ".claude").write(cwd.resolve(), [("a pelican", "ok")])
    fast = _roam(_FAST, args, cwd)
    full = _roam(_FULL, args, cwd)
    assert (fast.returncode, fast.stdout) == (full.returncode, full.stdout)


def test_fast_cf_reports_an_error_as_the_envelope_wherever_json_is_written(
    clean_environ: Path, tmp_path: Path
) -> None:
    done = _roam(_FAST, ["cf", "--json", ""], tmp_path)
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert (error["code"], error["type"]) == ("invalid_input", "InvalidInput")
    assert "Nothing to search for" in error["message"]
