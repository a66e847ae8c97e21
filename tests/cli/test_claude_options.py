"""claude's options without ``--``: ``roam cr --model sonnet``, the bash version's form."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.cli.claude_args import ClaudeArgsError, split_claude_args
from session_roam.cli.fast_cr import parse_fast_cr
from tests.cli.test_cr_cli import SID, _session, cwd, project, stand_in

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["cwd", "project", "stand_in"]  # fixtures shared with test_cr_cli

_CR = {"--force": False, "-f": False, "--timeout": True, "--help": False}


def test_claude_options_are_passed_on_with_their_values() -> None:
    split = split_claude_args(["--model", "sonnet", "notes", "-f"], _CR, "cr", "SESSION")
    assert split.roam == ["notes", "-f"]
    assert split.claude == ("--model", "sonnet")


def test_a_claude_flag_leaves_the_next_word_to_roam() -> None:
    split = split_claude_args(["--verbose", "notes"], _CR, "cr", "SESSION")
    assert (split.roam, split.claude) == (["notes"], ("--verbose",))


def test_print_takes_the_prompt_that_follows_it() -> None:
    split = split_claude_args(["-p", "where were we?"], _CR, "cr", "SESSION")
    assert (split.roam, split.claude) == ([], ("-p", "where were we?"))


def test_options_before_and_after_the_double_dash_keep_their_order() -> None:
    split = split_claude_args(["--model", "opus", "--", "-p", "hi"], _CR, "cr", "SESSION")
    assert split.claude == ("--model", "opus", "-p", "hi")


def test_roams_own_option_keeps_its_value_even_when_it_looks_like_an_option() -> None:
    split = split_claude_args(["--timeout", "-3"], _CR, "cr", "SESSION")
    assert (split.roam, split.claude) == (["--timeout", "-3"], ())


def test_an_unknown_option_before_a_word_is_explained_not_guessed() -> None:
    with pytest.raises(ClaudeArgsError, match="cannot tell whether 'x' is the value"):
        split_claude_args(["--new-claude-option", "x"], _CR, "cr", "SESSION")


def test_an_unknown_option_takes_the_word_when_the_command_has_no_argument() -> None:
    split = split_claude_args(["--new-claude-option", "x"], _CR, "crf", None)
    assert split.claude == ("--new-claude-option", "x")


@pytest.mark.parametrize("option", ["-c", "--continue", "-r", "--resume", "--session-id"])
def test_claudes_own_session_choice_is_refused_in_one_sentence(option: str) -> None:
    result = CliRunner().invoke(app, ["cr", option])
    assert result.exit_code == 2
    assert "roam chooses the session itself" in result.output


def test_cr_passes_model_to_claude(project: Path, stand_in: Path) -> None:
    _session(project)
    result = CliRunner().invoke(app, ["cr", "--model", "sonnet", "--", "-p", "hi"])
    assert result.exit_code == 0, result.output
    argv = json.loads(stand_in.read_text())["argv"]
    assert argv == ["-r", SID, "--model", "sonnet", "-p", "hi"]


def test_cn_passes_claude_options_and_keeps_its_name(cwd: Path, stand_in: Path) -> None:
    result = CliRunner().invoke(app, ["cn", "notes", "--permission-mode", "plan"])
    assert result.exit_code == 0, result.output
    argv = json.loads(stand_in.read_text())["argv"]
    assert argv[-2:] == ["--permission-mode", "plan"]


def test_the_fast_path_takes_the_same_claude_options() -> None:
    parsed = parse_fast_cr(["cr", "notes", "--model", "sonnet", "--", "-p", "hi"])
    assert parsed is not None
    assert parsed.query == "notes"
    assert parsed.claude_args == ("--model", "sonnet", "-p", "hi")
