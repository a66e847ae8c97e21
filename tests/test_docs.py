"""Every command is documented: it has --help text and the README shows it (sqlite-utils style)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

from session_roam.cli.app import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []
    for name, command in root.commands.items():  # type: ignore[attr-defined] # a TyperGroup
        if command.hidden:
            continue
        found.append((name,))
        for sub, inner in getattr(command, "commands", {}).items():
            if not inner.hidden:
                found.append((name, sub))
    return found


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_command_has_help(path: tuple[str, ...]) -> None:
    root = typer.main.get_command(app)
    command = root.commands[path[0]]  # type: ignore[attr-defined] # a TyperGroup
    for part in path[1:]:
        command = command.commands[part]
    assert (command.help or "").strip()


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_command_appears_in_readme(path: tuple[str, ...]) -> None:
    lines = [line for line in README.splitlines() if f"roam {path[0]}" in line]
    assert lines, f"roam {path[0]} is not in the README"
    if len(path) > 1:
        assert any(path[1] in line for line in lines), f"roam {' '.join(path)}"
