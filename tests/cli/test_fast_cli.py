"""The `roam cf --json` fast entry point: same output and exit codes as the full command."""

from __future__ import annotations

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


def _roam(module: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
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
    fast = _roam("session_roam.cli.fast", args, cwd)
    full = _roam("session_roam", args, cwd)
    assert (fast.returncode, fast.stdout) == (full.returncode, full.stdout)


def test_fast_cf_reports_an_error_on_stderr_without_global_json(
    clean_environ: Path, tmp_path: Path
) -> None:
    done = _roam("session_roam.cli.fast", ["cf", "--json", ""], tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert "error: Nothing to search for" in done.stderr
