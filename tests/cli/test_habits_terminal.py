"""The bash version's questions on a terminal: the stale one is ``[Y/n]`` (Enter resumes), the
agent-namespace one keeps its ``[y/N]`` (rich markup used to eat it)."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING

from tests.cli.test_cr_cli import SID, _session, cwd, project, stand_in
from tests.cli.test_cr_terminal_ui import _ui
from tests.support.terminal import answer_on_a_terminal

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

__all__ = ["cwd", "project", "stand_in"]  # fixtures shared with test_cr_cli


def test_the_stale_question_shows_yes_as_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    ui, shown = _ui(monkeypatch, "")
    question = "Session 3f2a was last written 2d 0h ago. Resume it (n: start a new one)?"
    assert ui.confirm(question, default=True)  # Enter: resume, as the old cr did
    assert shown.getvalue() == question + " [Y/n] "


def test_no_to_the_stale_question_is_no(monkeypatch: pytest.MonkeyPatch) -> None:
    ui, _shown = _ui(monkeypatch, "n")
    assert not ui.confirm("Resume it?", default=True)


def test_the_agent_question_keeps_its_y_n_in_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    ui, shown = _ui(monkeypatch, "")
    question = (
        "Session 3f2a belongs to an agent (it is named 'agent:[ci]/nightly'). Resume it anyway?"
    )
    assert not ui.confirm(question)
    assert shown.getvalue() == question + " [y/N] "


def _on_a_terminal(cwd: Path, answer: str) -> str:
    """``roam cr`` on a pseudo-terminal, answering its ``[Y/n]``; what the terminal showed."""
    argv = [sys.executable, "-m", "session_roam", "cr"]
    shown, done = answer_on_a_terminal(
        argv, cwd=cwd, env=os.environ, answer=answer, prompt=b"[Y/n]", timeout_s=60
    )
    assert done.returncode == 0, shown
    return shown


def _stale_session(project: Path) -> None:
    path = _session(project)
    old = time.time() - 3 * 86400
    os.utime(path, (old, old))


def test_cr_on_a_terminal_asks_about_a_stale_session_and_n_starts_a_new_one(
    project: Path, stand_in: Path, cwd: Path
) -> None:
    _stale_session(project)
    shown = _on_a_terminal(cwd, "n")
    assert "was last written 3d 0h ago. Resume it" in shown
    argv = json.loads(stand_in.read_text())["argv"]
    assert argv[0] == "--session-id"
    assert argv[1] != SID


def test_cr_on_a_terminal_resumes_the_stale_session_on_enter(
    project: Path, stand_in: Path, cwd: Path
) -> None:
    _stale_session(project)
    _on_a_terminal(cwd, "")
    assert json.loads(stand_in.read_text())["argv"] == ["-r", SID]
