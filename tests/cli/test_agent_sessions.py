"""An agent's session next to a person's: ``roam cr`` resumes the person's and says the agent's
is there. Agents' sessions are named ``agent:...`` or, as the bash version knew them, carry a
marker on their first line (``agent_markers`` in config.toml; FEDERATION_AGENT_ID and friends
by default)."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from session_roam.cli.app import app
from tests.cli.test_cr_cli import cwd, project, stand_in

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["cwd", "project", "stand_in"]  # fixtures shared with test_cr_cli

PERSON = "aaaaaaaa-1111-4111-8111-111111111111"
AGENT = "bbbbbbbb-2222-4222-8222-222222222222"


def _write(project: Path, session_id: str, first: Mapping[str, object], age_s: float) -> None:
    project.mkdir(parents=True, exist_ok=True)
    rows = [first, {"type": "user", "uuid": "u1", "parentUuid": None, "cwd": "/work/proj"}]
    path = project / f"{session_id}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    moment = time.time() - age_s
    os.utime(path, (moment, moment))


def _agent_next_to_person(project: Path) -> None:
    _write(project, PERSON, {"type": "summary", "summary": "mine"}, age_s=600)
    marker = {"type": "user", "uuid": "a0", "message": "FEDERATION_AGENT_ID=qwen-3"}
    _write(project, AGENT, marker, age_s=60)


def _settings(home: Path, text: str) -> None:
    config = home / ".config" / "session-roam" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text, encoding="utf-8")


def test_cr_resumes_the_persons_session_and_names_the_newer_agents(
    project: Path, stand_in: Path
) -> None:
    _agent_next_to_person(project)
    result = CliRunner().invoke(app, ["cr"])
    assert result.exit_code == 0, result.output
    assert json.loads(stand_in.read_text())["argv"][:2] == ["-r", PERSON]
    assert f"An agent's session is next to it, newer: {AGENT}" in result.output
    assert "FEDERATION_AGENT_ID" in result.output


def test_an_empty_marker_list_turns_the_markers_off(
    project: Path, stand_in: Path, clean_environ: Path
) -> None:
    _agent_next_to_person(project)
    _settings(clean_environ, "agent_markers = []\n")
    result = CliRunner().invoke(app, ["cr"])
    assert result.exit_code == 0, result.output
    assert json.loads(stand_in.read_text())["argv"][:2] == ["-r", AGENT]


def test_only_an_agents_session_here_is_not_resumed_without_asking(
    project: Path, stand_in: Path
) -> None:
    _write(project, AGENT, {"type": "user", "uuid": "a0", "cwd": "/x/notes-federation"}, 60)
    result = CliRunner().invoke(app, ["cr"])
    assert result.exit_code == 2
    assert "belongs to an agent (its first line carries notes-federation)" in result.output
    assert not stand_in.exists()


def test_a_marker_setting_of_the_wrong_type_is_refused(
    project: Path, stand_in: Path, clean_environ: Path
) -> None:
    _agent_next_to_person(project)
    _settings(clean_environ, 'agent_markers = "FEDERATION_AGENT_ID"\n')
    result = CliRunner().invoke(app, ["cr"])
    assert result.exit_code == 2
    assert "agent_markers" in result.output
