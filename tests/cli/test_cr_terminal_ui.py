"""The terminal side of ``roam cr``: its y/N questions are shown as written."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from rich.console import Console

from session_roam.cli.resume import TerminalUI

if TYPE_CHECKING:
    import pytest


def _ui(monkeypatch: pytest.MonkeyPatch, answer: str) -> tuple[TerminalUI, io.StringIO]:
    shown = io.StringIO()
    ui = TerminalUI()
    ui._err = Console(file=shown, width=200)  # the console is the UI's one seam
    ui.interactive = True
    monkeypatch.setattr("builtins.input", lambda *_: answer)
    return ui, shown


def test_cr_question_shows_its_y_n_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    ui, shown = _ui(monkeypatch, "y")
    assert ui.confirm("Session 3f2a was last taken by alpha [AAAAAAA]. Take it over here?")
    assert shown.getvalue() == (
        "Session 3f2a was last taken by alpha [AAAAAAA]. Take it over here? [y/N] "
    )


def test_cr_question_takes_anything_but_yes_as_no(monkeypatch: pytest.MonkeyPatch) -> None:
    ui, _shown = _ui(monkeypatch, "")
    assert not ui.confirm("Take it over here?")
