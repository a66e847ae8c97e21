"""`roam NAME` loads one command module; help, completion and errors still see every command."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Any

import pytest
import typer
import typer.main
from typer.models import TyperInfo
from typer.testing import CliRunner

from session_roam.cli.app import COMMAND_MODULES, COMMANDS, app

_PROBE = """
import json, sys
from session_roam.cli.app import main
sys.argv = ["roam", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.startswith("session_roam.cli.") or m == "pydantic")
sys.stdout.write("\\n" + json.dumps(loaded) + "\\n")
"""


def _registered(modules: tuple[str, ...]) -> dict[str, Any]:
    """Commands as the eager app built them: every module registered on one Typer."""
    scratch = typer.Typer()
    for module in modules:
        importlib.import_module(module).register(scratch)
    group = typer.main.get_group_from_info(
        TyperInfo(scratch),
        pretty_exceptions_short=True,
        rich_markup_mode="markdown",
        suggest_commands=True,
    )
    return dict(group.commands)


def _loaded_by(args: list[str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_commands_table_lists_every_command_in_help_order() -> None:
    assert list(COMMANDS) == list(_registered(COMMAND_MODULES))


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_commands_table_names_the_module_that_registers_each_command(module: str) -> None:
    assert {name for name, owner in COMMANDS.items() if owner == module} == set(
        _registered((module,))
    )


def test_root_group_lists_every_command_in_help_order() -> None:
    root = typer.main.get_command(app)
    assert list(root.commands) == list(COMMANDS)  # type: ignore[attr-defined] # a TyperGroup


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    assert all(f" {name} " in result.output for name in COMMANDS)


def test_unknown_command_is_refused_with_a_suggestion() -> None:
    result = CliRunner().invoke(app, ["crr"])
    assert result.exit_code == 2
    assert "No such command 'crr'" in result.output
    assert "'cr'" in result.output


def test_completion_offers_commands_from_every_module() -> None:
    result = CliRunner().invoke(
        app,
        [],
        prog_name="roam",
        env={"_ROAM_COMPLETE": "complete_bash", "COMP_WORDS": "roam c", "COMP_CWORD": "1"},
    )
    assert result.exit_code == 0
    assert result.output.split() == ["cr", "cf", "cs", "cn", "cfork", "crf", "conflicts"]


def test_completion_offers_a_groups_subcommands() -> None:
    result = CliRunner().invoke(
        app,
        [],
        prog_name="roam",
        env={"_ROAM_COMPLETE": "complete_bash", "COMP_WORDS": "roam lease ", "COMP_CWORD": "2"},
    )
    assert result.exit_code == 0
    assert {"status", "release", "steal"} <= set(result.output.split())


def test_show_completion_prints_the_shell_script() -> None:
    result = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="roam")
    assert result.exit_code == 0
    assert "_roam_completion" in result.output


def test_a_lazily_loaded_command_still_turns_roam_errors_into_exit_codes() -> None:
    result = CliRunner().invoke(app, ["cr", "no-such-session"])
    assert result.exit_code == 2
    assert "error: No session" in result.output


def test_version_loads_no_command_module() -> None:
    loaded = _loaded_by(["--version"])
    assert not set(loaded) & set(COMMAND_MODULES)


@pytest.mark.parametrize(("args", "module"), [(["cr", "--help"], "session_roam.cli.resume")])
def test_a_command_loads_only_its_own_module(args: list[str], module: str) -> None:
    loaded = _loaded_by(args)
    assert set(loaded) & set(COMMAND_MODULES) == {module}
