from __future__ import annotations

import json
import os
import stat
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.conflicts import plan as plan_module
from session_roam.engine.core.paths import project_slug
from session_roam.engine.sessions.journal import Journal

if TYPE_CHECKING:
    from pathlib import Path

pytest_plugins = ["tests.support.st_home_fixtures"]

SID = "aaaaaaaa-1111-4111-8111-111111111111"

_STAND_IN = """#!/usr/bin/env python3
import json, os, sys
log = os.environ["STANDIN_LOG"]
with open(log, "w") as handle:
    json.dump({"argv": sys.argv[1:], "cr": os.environ.get("ROAM_CR_SESSION")}, handle)
session = os.environ.get("STANDIN_SESSION")
if session:
    with open(session, "a") as handle:
        row = {"type": "user", "uuid": "from-claude", "parentUuid": "u1"}
        handle.write(json.dumps(row) + "\\n")
sys.exit(int(os.environ.get("STANDIN_EXIT", "0")))
"""


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work" / "proj"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def project(cwd: Path, clean_environ: Path) -> Path:
    return clean_environ / ".claude" / "projects" / project_slug(os.path.realpath(cwd))


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in claude that logs its argv and appends one row; returns the log path."""
    binary = tmp_path / "bin" / "claude"
    binary.parent.mkdir()
    binary.write_text(_STAND_IN)
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "standin.json"
    monkeypatch.setenv("ROAM_CLAUDE_BIN", str(binary))
    monkeypatch.setenv("STANDIN_LOG", str(log))
    return log


def _session(project: Path, *, title: str | None = None) -> Path:
    project.mkdir(parents=True, exist_ok=True)
    rows = [{"type": "user", "uuid": "u1", "parentUuid": None, "cwd": "/work/proj"}]
    if title:
        rows.append({"type": "custom-title", "customTitle": title})
    path = project / f"{SID}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_cr_without_a_session_here_starts_a_new_conversation(cwd: Path, stand_in: Path) -> None:
    # the bash version's cr was `claude -c`, which starts one where there is none (issue 23)
    result = CliRunner().invoke(app, ["cr", "--model", "sonnet"])
    assert result.exit_code == 0, result.output
    assert "starting a new conversation" in result.output
    argv = json.loads(stand_in.read_text())["argv"]
    assert argv[0] == "--session-id"
    assert argv[2:] == ["--model", "sonnet"]


def test_cr_resumes_the_newest_session_with_claude_args(
    project: Path, stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _session(project)
    monkeypatch.setenv("STANDIN_SESSION", str(path))
    monkeypatch.setenv("STANDIN_EXIT", "3")
    result = CliRunner().invoke(app, ["cr", "--", "-p", "hello"])
    assert result.exit_code == 9  # claude's 3 is reported, never passed through as roam's 3
    assert "claude exited with status 3" in result.output
    assert json.loads(stand_in.read_text()) == {"argv": ["-r", SID, "-p", "hello"], "cr": SID}


@pytest.mark.parametrize(("argv", "command"), [(["cr"], "roam cr"), (["cfork", SID], "roam cfork")])
def test_a_launch_refused_by_a_merge_syncthing_raced_says_to_run_that_launch_again(
    project: Path, stand_in: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], command: str
) -> None:
    main = _session(project)
    (project / f"{SID}.sync-conflict-20261207-010203-ABCDEFG.jsonl").write_text(
        main.read_text() + json.dumps({"type": "user", "uuid": "u2", "parentUuid": "u1"}) + "\n"
    )
    real = plan_module.plan_session

    def plan_then_syncthing_writes(*args: Any, **kwargs: Any) -> Any:
        planned = real(*args, **kwargs)
        with main.open("a") as handle:  # a peer's row lands while roam merges
            handle.write(json.dumps({"type": "user", "uuid": "u3", "parentUuid": "u1"}) + "\n")
        return planned

    monkeypatch.setattr(plan_module, "plan_session", plan_then_syncthing_writes)
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 6, result.output
    assert "changed while roam was merging" in result.output
    assert f"then run `{command} {SID}` again" in result.output  # this session, not the newest
    assert "roam conflicts merge" not in result.output
    assert not stand_in.exists()


def test_cr_warns_that_it_cannot_coordinate_without_syncthing(
    project: Path, stand_in: Path
) -> None:
    _session(project)
    result = CliRunner().invoke(app, ["cr"])
    assert result.exit_code == 0
    assert "cannot coordinate" in result.output


def test_cr_journals_the_rows_claude_wrote(
    project: Path, stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_SESSION", str(_session(project)))
    CliRunner().invoke(app, ["cr"])
    records = Journal().records(SID)
    assert [json.loads(line)["uuid"] for line in records] == ["from-claude"]


def test_cr_picks_a_session_by_title(project: Path, stand_in: Path) -> None:
    _session(project, title="notes")
    result = CliRunner().invoke(app, ["cr", "notes"])
    assert result.exit_code == 0
    assert json.loads(stand_in.read_text())["argv"] == ["-r", SID]


def test_cr_unknown_session_lists_candidates(project: Path, stand_in: Path) -> None:
    _session(project, title="notes")
    result = CliRunner().invoke(app, ["cr", "other"])
    assert result.exit_code == 2
    assert "No session matches 'other'" in result.output
    assert SID in result.output


def test_cr_refuses_an_agent_session_without_a_terminal(project: Path, stand_in: Path) -> None:
    _session(project, title="agent:ci/nightly")
    result = CliRunner().invoke(app, ["cr"])
    assert result.exit_code == 2
    assert "belongs to an agent" in result.output
    assert not stand_in.exists()


def test_cr_force_resumes_an_agent_session_loudly(project: Path, stand_in: Path) -> None:
    _session(project, title="agent:ci/nightly")
    result = CliRunner().invoke(app, ["cr", "--force"])
    assert result.exit_code == 0
    assert "--force" in result.output
    assert Journal().events(SID)[0]["forced"] is True


def test_cr_without_claude_exits_3(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _session(project)
    monkeypatch.setenv("ROAM_CLAUDE_BIN", str(tmp_path / "missing"))
    result = CliRunner().invoke(app, ["cr"])
    assert result.exit_code == 3
    assert "ROAM_CLAUDE_BIN" in result.output


def test_cr_help_shows_an_example() -> None:
    result = CliRunner().invoke(app, ["cr", "--help"])
    assert result.exit_code == 0
    assert "roam cr 3f2a -- -p" in result.output


# A machine set up for sync whose Syncthing is down and cannot start (``silent_syncthing``):
# roam cr never writes without the lease there, --force included; --no-lease goes on, loudly.


def test_cr_refuses_when_the_syncthing_it_must_start_will_not_start(
    silent_syncthing: Path, project: Path, stand_in: Path
) -> None:
    _session(project)
    result = CliRunner().invoke(app, ["cr"])
    assert result.exit_code == 4
    assert "roam could not start it" in result.output
    assert "roam cr --no-lease" in result.output
    assert "Traceback" not in result.output
    assert not stand_in.exists()


def test_cr_refusal_under_json_is_one_document_with_the_exit_code(
    silent_syncthing: Path, project: Path, stand_in: Path
) -> None:
    _session(project)
    result = CliRunner().invoke(app, ["--json", "cr"])
    assert result.exit_code == 4
    error = json.loads(result.stdout)["error"]
    assert (error["type"], error["exit_code"]) == ("SyncthingUnreachable", 4)


def test_cr_force_does_not_go_past_a_syncthing_that_cannot_start(
    silent_syncthing: Path, project: Path, stand_in: Path
) -> None:
    _session(project)
    assert CliRunner().invoke(app, ["cr", "--force"]).exit_code == 4
    assert not stand_in.exists()


def test_cr_no_lease_resumes_and_says_what_it_risks(
    silent_syncthing: Path, project: Path, stand_in: Path
) -> None:
    _session(project)
    result = CliRunner().invoke(app, ["cr", "--no-lease"])
    assert result.exit_code == 0, result.output
    assert "--no-lease: going on without the lease" in result.output
    assert "conflict copy" in result.output
    assert json.loads(stand_in.read_text())["argv"] == ["-r", SID]


def test_cr_no_lease_is_on_the_record(
    silent_syncthing: Path, project: Path, stand_in: Path
) -> None:
    _session(project)
    CliRunner().invoke(app, ["cr", "--no-lease"])
    launch = Journal().events(SID)[0]
    assert (launch["event"], launch["leased"]) == ("launch", False)


def test_cn_no_lease_starts_the_new_session_with_the_warning(
    silent_syncthing: Path, cwd: Path, stand_in: Path
) -> None:
    result = CliRunner().invoke(app, ["cn", "notes", "--no-lease"])
    assert result.exit_code == 0, result.output
    assert "--no-lease: going on without the lease" in result.output
    assert stand_in.exists()


def test_cr_with_a_syncthing_home_that_has_no_config_exits_3_before_launching(
    project: Path, stand_in: Path, tmp_path: Path
) -> None:
    _session(project)
    result = CliRunner().invoke(app, ["cr", "--syncthing-home", str(tmp_path / "typo")])
    assert result.exit_code == 3
    assert "There is no Syncthing config.xml in" in result.output
    assert not stand_in.exists()
