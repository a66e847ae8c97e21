"""`roam cr` on a machine set up for sync never writes without the lease, unless --no-lease.

The machine here shares ~/.claude/projects through Syncthing, whose Syncthing is down and whose
binary cannot start (``silent_syncthing``); the real start is tested in tests/e2e.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.paths import project_slug

if TYPE_CHECKING:
    from pathlib import Path

pytest_plugins = ["tests.support.st_home_fixtures"]

SID = "cccccccc-3333-4333-8333-333333333333"
_STAND_IN = """#!/bin/sh
echo "$@" > "$STANDIN_LOG"
"""


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_environ: Path) -> Path:
    """A session in the cwd's project and a stand-in claude that logs its argv to the result."""
    cwd = tmp_path / "work" / "proj"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    project = clean_environ / ".claude" / "projects" / project_slug(os.path.realpath(cwd))
    project.mkdir(parents=True)
    row = {"type": "user", "uuid": "u1", "parentUuid": None, "cwd": str(cwd)}
    (project / f"{SID}.jsonl").write_text(json.dumps(row) + "\n")
    binary = tmp_path / "bin" / "claude"
    binary.parent.mkdir()
    binary.write_text(_STAND_IN)
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "standin.log"
    monkeypatch.setenv("ROAM_CLAUDE_BIN", str(binary))
    monkeypatch.setenv("STANDIN_LOG", str(log))
    return log


def test_cr_refuses_when_the_syncthing_it_must_start_will_not_start(
    silent_syncthing: Path, stand_in: Path
) -> None:
    result = CliRunner().invoke(app, ["cr"])
    assert result.exit_code == 4
    assert "roam could not start it" in result.output
    assert "roam cr --no-lease" in result.output
    assert "Traceback" not in result.output
    assert not stand_in.exists()


def test_cr_refusal_under_json_is_one_document_with_the_exit_code(
    silent_syncthing: Path, stand_in: Path
) -> None:
    result = CliRunner().invoke(app, ["--json", "cr"])
    assert result.exit_code == 4
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "SyncthingUnreachable"
    assert error["exit_code"] == 4


def test_cr_force_does_not_go_past_a_syncthing_that_cannot_start(
    silent_syncthing: Path, stand_in: Path
) -> None:
    result = CliRunner().invoke(app, ["cr", "--force"])
    assert result.exit_code == 4
    assert not stand_in.exists()


def test_cr_no_lease_resumes_and_says_what_it_risks(silent_syncthing: Path, stand_in: Path) -> None:
    result = CliRunner().invoke(app, ["cr", "--no-lease"])
    assert result.exit_code == 0, result.output
    assert "--no-lease: going on without the lease" in result.output
    assert "conflict copy" in result.output
    assert stand_in.read_text().split() == ["-r", SID]


def test_cn_no_lease_starts_the_new_session_with_the_warning(
    silent_syncthing: Path, stand_in: Path
) -> None:
    result = CliRunner().invoke(app, ["cn", "notes", "--no-lease"])
    assert result.exit_code == 0, result.output
    assert "--no-lease: going on without the lease" in result.output
    assert stand_in.exists()


def test_cr_with_a_syncthing_home_that_has_no_config_exits_3_before_launching(
    stand_in: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["cr", "--syncthing-home", str(tmp_path / "typo")])
    assert result.exit_code == 3
    assert "There is no Syncthing config.xml in" in result.output
    assert not stand_in.exists()


def test_cr_on_a_machine_not_set_up_for_sync_resumes_with_the_warning(stand_in: Path) -> None:
    result = CliRunner().invoke(app, ["cr"])
    assert result.exit_code == 0, result.output
    assert "cannot coordinate" in result.output
    assert stand_in.exists()


@pytest.mark.parametrize("args", [["cr"], ["cr", "--no-lease"]])
def test_fast_cr_refuses_and_resumes_as_the_full_app_does(
    silent_syncthing: Path, stand_in: Path, args: list[str]
) -> None:
    full = "import sys; from session_roam.cli.app import main; sys.argv[0] = 'roam'; main()"
    fast = "import sys; from session_roam.cli.fast import main; sys.argv[0] = 'roam'; main()"
    ends = []
    for code in (fast, full):
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        ends.append((done.returncode, done.stdout))
    assert ends[0] == ends[1]
    assert ends[0][0] == (0 if "--no-lease" in args else 4)
