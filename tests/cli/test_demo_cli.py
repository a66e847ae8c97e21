"""`roam demo`'s words for someone who has never used Syncthing (the demo itself is faked here;
tests/e2e/test_demo.py runs the real one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from session_roam.cli import demo as demo_cli
from session_roam.cli.app import app
from session_roam.engine.demo import DemoEvent, DemoSummary
from session_roam.errors import SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Generator


def _failing(*, keep: bool, summary: DemoSummary) -> Generator[DemoEvent, None, None]:
    if keep:
        summary.figures["kept"] = "/tmp/roam-demo-kept"
    yield DemoEvent("start", "A step")
    raise SyncTimeout("Syncthing at http://127.0.0.1:1 did not report every peer within 30 s.")


def _passing(*, keep: bool, summary: DemoSummary) -> Generator[DemoEvent, None, None]:
    yield DemoEvent("start", "A step")
    yield DemoEvent("done", "A step", "it worked", 0.1)
    if keep:
        summary.figures["kept"] = "/tmp/roam-demo-kept"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(story: Any) -> None:
        monkeypatch.setattr(demo_cli, "run_demo", story)

    return use


def test_a_failed_demo_speaks_without_syncthing_words_and_keeps_exit_4(fake: Any) -> None:
    fake(_failing)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 4
    assert "The demo did not finish" in result.output
    assert "roam status" not in result.output
    assert "run `roam demo` again" in result.output


def test_a_failed_demo_with_keep_says_where_its_folder_is(fake: Any) -> None:
    fake(_failing)
    result = CliRunner().invoke(app, ["demo", "--keep"])
    assert "/tmp/roam-demo-kept" in result.output


def test_the_demo_explains_syncthing_in_one_line_first(fake: Any) -> None:
    fake(_passing)
    result = CliRunner().invoke(app, ["demo"])
    assert result.output.startswith("Syncthing copies a folder between your machines")


def test_the_demo_with_keep_prints_where_the_folder_is(fake: Any) -> None:
    fake(_passing)
    result = CliRunner().invoke(app, ["demo", "--keep"])
    assert "kept in /tmp/roam-demo-kept" in result.output


def test_the_demo_ends_with_the_command_that_sets_this_machine_up(fake: Any) -> None:
    fake(_passing)
    result = CliRunner().invoke(app, ["demo"])
    assert result.output.rstrip().splitlines()[-1].startswith("Next: `roam setup`")
