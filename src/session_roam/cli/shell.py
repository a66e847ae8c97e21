"""`roam shell install|uninstall`: the seed's short names (cr, cs, cf, cn, cfork, crf)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer._completion_shared import get_completion_script  # typer's own public helper lives here

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json, err_console
from session_roam.engine.setup import SHORTCUTS, ShellChange, ShortcutFound, detect_shell
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


def _old(old: ShortcutFound) -> dict[str, object]:
    return {"path": str(old.path), "line": old.line, "name": old.name, "text": old.text}


def _report(change: ShellChange, as_json: bool, done: str, already: str) -> None:
    if as_json:
        emit_json(
            {
                "shell": change.shell,
                "path": str(change.path),
                "changed": change.changed,
                "disabled": [_old(old) for old in change.disabled],
                "kept": [_old(old) for old in change.kept],
                "backups": [str(path) for path in change.backups],
                "restored": [str(path) for path in change.restored],
                "also": [str(path) for path in change.also],
            }
        )
        return
    out = console()
    out.print(f"{done if change.changed else already} {change.path}", markup=False)
    for old in change.disabled:
        out.print(f"Turned off the old {old.name}: {old.path}:{old.line}: {old.text}", markup=False)
    if change.backups:
        out.print(f"Backups: {', '.join(map(str, change.backups))}", markup=False)
    for path in change.restored:
        out.print(f"Turned the old shortcuts back on in {path}", markup=False)
    for path in change.also:
        out.print(f"Removed roam's lines from {path}", markup=False)
    for old in change.kept:
        err_console().print(
            f"WARNING: {old.path}:{old.line} still defines {old.name} ({old.text}); "
            f"it may run instead of roam's {old.name} (--keep-aliases).",
            markup=False,
            style="bold red",
        )


@shell_app.command("install")
def install_command(
    ctx: typer.Context,
    shell: _ShellOption = None,
    keep_aliases: Annotated[
        bool,
        typer.Option(
            "--keep-aliases",
            help="Leave old definitions of cr, cn, ... (the bash version's) as they are; "
            "roam warns about each one instead of commenting it out.",
        ),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Add the shortcuts (and tab completion for roam) at the end of your shell's rc file.

    Old definitions of the same names (the bash version's `alias cr='sleep 2 && claude -c'`)
    in any rc file roam knows are commented out behind a marker line, each file backed up
    first, and listed; `roam shell uninstall` turns them back on. Installing again changes
    nothing; each shortcut runs `roam <same name>`, so new and forked sessions go through the
    lease too. Open a new shell (or source the file) afterwards.

        roam shell install
        roam shell install --shell zsh
    """
    chosen = detect_shell(shell)
    completion = get_completion_script(
        prog_name="roam", complete_var="_ROAM_COMPLETE", shell=chosen
    )
    change = install(chosen, Path.home(), completion, keep_aliases=keep_aliases)
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
    """Remove the shortcuts block and roam's completion line, and turn back on the old
    shortcuts install turned off; the rest of each rc file is left byte for byte.

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
