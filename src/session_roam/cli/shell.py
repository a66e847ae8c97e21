"""`roam shell install|uninstall`: the seed's short names (cr, cs, cf, cn, cfork, crf)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer._completion_shared import get_completion_script  # typer's own public helper lives here

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json
from session_roam.engine.setup import SHORTCUTS, ShellChange, detect_shell
from session_roam.engine.setup import install_shortcuts as install
from session_roam.engine.setup import uninstall_shortcuts as uninstall

__all__ = ["register", "shell_app"]

shell_app = typer.Typer(
    name="shell",
    no_args_is_help=True,
    help="Short names for the commands you type all day: cr, cs, cf, cn, cfork, crf.",
)

_ShellOption = Annotated[
    str | None,
    typer.Option("--shell", help="bash, zsh or fish (default: your login shell, from $SHELL)."),
]


def _report(change: ShellChange, as_json: bool, done: str, already: str) -> None:
    if as_json:
        emit_json({"shell": change.shell, "path": str(change.path), "changed": change.changed})
        return
    console().print(f"{done if change.changed else already} {change.path}", markup=False)


@shell_app.command("install")
def install_command(
    ctx: typer.Context, shell: _ShellOption = None, json_output: JsonFlag = False
) -> None:
    """Add the shortcuts (and tab completion for roam) to your shell's rc file.

    Installing again changes nothing; each shortcut runs `roam <same name>`, so new and forked
    sessions go through the lease too. Open a new shell (or source the file) afterwards.

        roam shell install
        roam shell install --shell zsh
    """
    chosen = detect_shell(shell)
    completion = get_completion_script(
        prog_name="roam", complete_var="_ROAM_COMPLETE", shell=chosen
    )
    change = install(chosen, Path.home(), completion)
    as_json = settings_of(ctx).wants_json(json_output)
    _report(change, as_json, "Added the shortcuts to", "The shortcuts are already in")
    if change.changed and not as_json:
        console().print(
            f"Shortcuts: {', '.join(SHORTCUTS)}. Open a new shell or run: source {change.path}",
            markup=False,
        )


@shell_app.command("uninstall")
def uninstall_command(
    ctx: typer.Context, shell: _ShellOption = None, json_output: JsonFlag = False
) -> None:
    """Remove the shortcuts block; the rest of the rc file is left byte for byte.

    roam shell uninstall
    """
    change = uninstall(detect_shell(shell), Path.home())
    _report(
        change,
        settings_of(ctx).wants_json(json_output),
        "Removed the shortcuts from",
        "No shortcuts to remove in",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(shell_app)
