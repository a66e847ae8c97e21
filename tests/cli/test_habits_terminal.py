"""The bash version's questions on a terminal: the stale one is ``[Y/n]`` (Enter resumes), the
agent-namespace one keeps its ``[y/N]`` (rich markup used to eat it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.cli.test_cr_terminal_ui import _ui

if TYPE_CHECKING:
    import pytest


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
