"""`roam cr` through the start-up fast path: same outcome as the full app, without typer."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from session_roam.cli.fast_cr import FastCr, parse_fast_cr
from session_roam.engine.core.paths import project_slug

if TYPE_CHECKING:
    from pathlib import Path

pytest_plugins = ["tests.support.st_home_fixtures"]

SID = "bbbbbbbb-2222-4222-8222-222222222222"

_STAND_IN = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["STANDIN_LOG"], "a") as handle:
    handle.write(json.dumps(sys.argv[1:]) + "\\n")
sys.exit(int(os.environ.get("STANDIN_EXIT", "0")))
"""

#: The full app, bypassing cli.fast (what ``roam`` ran before the fast path existed).
_FULL = "import sys; from session_roam.cli.app import main; sys.argv[0] = 'roam'; main()"
#: The console script's entry point; reports which heavy modules a run loaded.
_FAST = """
import atexit, sys
from session_roam.cli.fast import main
heavy = ("pydantic", "session_roam.cli.app", "session_roam.cli.sessions")
atexit.register(lambda: sys.stderr.write(
    "loaded: " + " ".join(m for m in heavy if m in sys.modules) + "\\n"))
sys.argv[0] = "roam"
main()
"""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["cr"], FastCr()),
        (["cr", "3f2a"], FastCr(query="3f2a")),
        (["--json", "-v", "cr", "-f", "x"], FastCr(json=True, verbose=True, force=True, query="x")),
        (["--claude-dir", "/c", "cr", "--timeout", "2.5"], FastCr(claude_dir="/c", timeout_s=2.5)),
        (["--claude-dir=/c", "cr", "--timeout=0"], FastCr(claude_dir="/c", timeout_s=0.0)),
        (["cr", "x", "--", "-p", "hi", "--"], FastCr(query="x", claude_args=("-p", "hi", "--"))),
        (["cr", "--force", "--", "cr"], FastCr(force=True, claude_args=("cr",))),
        (["cr", "--no-lease"], FastCr(no_lease=True)),
        (["cr", "--syncthing-home", "/h", "x"], FastCr(syncthing_home="/h", query="x")),
        (["cr", "--syncthing-home=/h"], FastCr(syncthing_home="/h")),
    ],
)
def test_parse_fast_cr_reads_plain_command_lines(argv: list[str], expected: FastCr) -> None:
    assert parse_fast_cr(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["cr", "--help"],
        ["cr", "-h"],
        ["--help", "cr"],
        ["cr", "a", "b"],
        ["cr", ""],
        ["cr", "-fx"],
        ["cr", "--json"],
        ["cr", "--claude-dir", "/c"],
        ["--timeout", "1", "cr"],
        ["cr", "--timeout", "-1"],
        ["cr", "--timeout", "soon"],
        ["cr", "--timeout"],
        ["cr", "--syncthing-home"],
        ["cr", "--syncthing-home", "--force"],
        ["--no-lease", "cr"],
        ["--claude-dir", "cr"],
        ["--force", "cr"],
        ["--", "cr"],
        ["ls"],
        ["cs", "cr"],
        ["--install-completion"],
    ],
)
def test_parse_fast_cr_leaves_everything_else_to_the_full_app(argv: list[str]) -> None:
    assert parse_fast_cr(argv) is None


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    folder = tmp_path / "work" / "proj"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def environment(tmp_path: Path, cwd: Path, clean_environ: Path) -> dict[str, str]:
    """A machine with one session in ``cwd``'s project, no Syncthing, and a stand-in claude."""
    project = clean_environ / ".claude" / "projects" / project_slug(os.path.realpath(cwd))
    project.mkdir(parents=True)
    row = {"type": "user", "uuid": "u1", "parentUuid": None, "cwd": str(cwd)}
    (project / f"{SID}.jsonl").write_text(json.dumps(row) + "\n")
    binary = tmp_path / "bin" / "claude"
    binary.parent.mkdir()
    binary.write_text(_STAND_IN)
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return {
        **os.environ,
        "ROAM_CLAUDE_BIN": str(binary),
        "STANDIN_LOG": str(tmp_path / "standin.log"),
        "STANDIN_EXIT": "7",
    }


def _run(code: str, args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["cr", SID[:8], "--", "-p", "hello"],
        ["cr", "no-such-session"],
        ["--json", "cr", "no-such-session"],
    ],
)
def test_fast_cr_ends_as_the_full_app_does(
    tmp_path: Path, cwd: Path, environment: dict[str, str], args: list[str]
) -> None:
    fast = _run(_FAST, args, cwd, environment)
    full = _run(_FULL, args, cwd, environment)
    log = tmp_path / "standin.log"
    calls = log.read_text().splitlines() if log.exists() else []
    assert fast[:2] == full[:2]
    assert fast[2].replace("loaded: \n", "") == full[2]
    assert len(set(calls)) <= 1  # both runs handed claude the same arguments


def test_fast_cr_reports_claudes_exit_status_as_its_own_code_and_passes_arguments(
    tmp_path: Path, cwd: Path, environment: dict[str, str]
) -> None:
    code, _, err = _run(_FAST, ["cr", "--", "-p", "hi"], cwd, environment)
    assert code == 9  # ExitCode.CLAUDE_EXITED; the stand-in exited 7
    assert "claude exited with status 7" in err
    assert json.loads((tmp_path / "standin.log").read_text()) == ["-r", SID, "-p", "hi"]
    assert "cannot coordinate" in err


def test_fast_cr_does_not_load_pydantic_or_the_full_app(
    cwd: Path, environment: dict[str, str]
) -> None:
    _, _, err = _run(_FAST, ["cr"], cwd, environment)
    assert err.splitlines()[-1].rstrip() == "loaded:"


def test_fast_cr_leaves_shell_completion_to_the_full_app(
    cwd: Path, environment: dict[str, str]
) -> None:
    env = {
        **environment,
        "_ROAM_COMPLETE": "complete_bash",
        "COMP_WORDS": "roam cr",
        "COMP_CWORD": "1",
    }
    code, out, _ = _run(_FAST, ["cr"], cwd, env)
    assert code == 0
    assert out.split() == ["cr", "crf"]


@pytest.mark.parametrize(("args", "code"), [(["cr"], 4), (["cr", "--no-lease"], 0)])
def test_fast_cr_where_syncthing_cannot_start_ends_as_the_full_app_does(
    silent_syncthing: Path, cwd: Path, environment: dict[str, str], args: list[str], code: int
) -> None:
    environment["STANDIN_EXIT"] = "0"
    fast = _run(_FAST, args, cwd, environment)
    full = _run(_FULL, args, cwd, environment)
    assert fast[:2] == full[:2]
    assert fast[0] == code


def test_parse_fast_cr_reads_offline() -> None:
    assert parse_fast_cr(["cr", "--offline", "--timeout", "5"]) == FastCr(offline=True, timeout_s=5)
