"""The root of the ``roam`` command and the one place where errors become exit codes."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Annotated, Any, Final

import typer
import typer.core

from session_roam import __version__
from session_roam.cli.context import Settings
from session_roam.cli.output import print_error
from session_roam.errors import RoamError

__all__ = ["app", "main"]

#: Command modules, each exposing ``register(app)``. One module per verb or verb group.
COMMAND_MODULES: Final = (
    "session_roam.cli.conflicts",
    "session_roam.cli.resume",
    "session_roam.cli.hooks",
    "session_roam.cli.journal",
    "session_roam.cli.sync",
    "session_roam.cli.peers",
    "session_roam.cli.lease",
    "session_roam.cli.demo",
    "session_roam.cli.sessions",
    "session_roam.cli.new",
    "session_roam.cli.paths",
    "session_roam.cli.shell",
    "session_roam.cli.verify",
    "session_roam.cli.watch",
)


class RoamGroup(typer.core.TyperGroup):
    """Turns a ``RoamError`` into one plain sentence and its exit code; nothing else does."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context
        try:
            return super().invoke(ctx)
        except RoamError as error:
            settings = ctx.find_object(Settings)
            print_error(error, as_json=settings.json if settings else False)
            raise typer.Exit(int(error.exit_code)) from None


app = typer.Typer(
    cls=RoamGroup,
    name="roam",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
    help=(
        "Continue the same Claude Code conversation on any of your machines.\n\n"
        "Syncthing carries ~/.claude/projects between machines; roam makes sure only one "
        "machine writes a session at a time and turns Syncthing's conflict copies back "
        "into one timeline."
    ),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"roam {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print results as JSON (stable schema) on stdout.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what roam does.")] = False,
    claude_dir: Annotated[
        Path | None,
        typer.Option(
            "--claude-dir",
            envvar="CLAUDE_CONFIG_DIR",
            help="Claude Code's config folder (default: $CLAUDE_CONFIG_DIR, else ~/.claude).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Options that apply to every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = Settings(json=json_output, verbose=verbose, claude_dir=claude_dir)


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="roam")
