"""The root of the ``roam`` command and the one place where errors become exit codes.

Commands load lazily: ``roam cr`` imports the module that defines ``cr`` and nothing else,
because importing every command module (rich tables, httpx, the merge engine, the demo) cost
about half a second before claude could start. ``--help``, completion and anything unknown
still see every command, loaded in the order typer would have registered them.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final

import typer
import typer.core
import typer.main
from typer._click.exceptions import ClickException  # typer vendors click; no public name
from typer.models import TyperInfo

from session_roam import __version__
from session_roam.cli.context import Settings, json_requested
from session_roam.cli.logs import configure_logging
from session_roam.cli.options import JsonFlag
from session_roam.errors import RoamError

__all__ = ["COMMANDS", "COMMAND_MODULES", "app", "main"]

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
    "session_roam.cli.backups",
    "session_roam.cli.restore",
    "session_roam.cli.uninstall",
    "session_roam.cli.travel",
)

#: Which module defines each top-level command, so ``roam NAME`` imports only that one. A name
#: missing here still works (roam then loads every module, as ``--help`` does), only slower;
#: tests/cli/test_lazy_app.py fails until the table matches what the modules register.
COMMANDS: Final = MappingProxyType(
    {
        "cr": "session_roam.cli.resume",
        "setup": "session_roam.cli.sync",
        "status": "session_roam.cli.sync",
        "pair": "session_roam.cli.peers",
        "demo": "session_roam.cli.demo",
        "ls": "session_roam.cli.sessions",
        "cf": "session_roam.cli.sessions",
        "cs": "session_roam.cli.sessions",
        "cn": "session_roam.cli.new",
        "cfork": "session_roam.cli.new",
        "crf": "session_roam.cli.new",
        "verify": "session_roam.cli.verify",
        "backups": "session_roam.cli.backups",
        "restore": "session_roam.cli.restore",
        "rm": "session_roam.cli.restore",
        "uninstall": "session_roam.cli.uninstall",
        "export": "session_roam.cli.travel",
        "import": "session_roam.cli.travel",
        "conflicts": "session_roam.cli.conflicts",
        "hooks": "session_roam.cli.hooks",
        "journal": "session_roam.cli.journal",
        "peers": "session_roam.cli.peers",
        "lease": "session_roam.cli.lease",
        "paths": "session_roam.cli.paths",
        "shell": "session_roam.cli.shell",
        "watch": "session_roam.cli.watch",
    }
)


def _build_commands(modules: Sequence[str]) -> dict[str, Any]:
    """The click commands ``modules`` register, built exactly as typer builds the root's."""
    scratch = typer.Typer()
    for module in modules:
        importlib.import_module(module).register(scratch)
    group = typer.main.get_group_from_info(
        TyperInfo(scratch),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
        suggest_commands=app.suggest_commands,
    )
    return dict(group.commands)


class _LazyCommands(MutableMapping[str, Any]):  # values: typer's vendored click Commands
    """The root group's commands: one module on a lookup by name, all of them on iteration."""

    def __init__(self, given: dict[str, Any]) -> None:
        self._given = given  # registered on the root app itself, not by a command module
        self._loaded: dict[str, Any] = {}
        self._all: dict[str, Any] | None = None

    def _everything(self) -> dict[str, Any]:
        if self._all is None:
            self._all = {**self._given, **_build_commands(COMMAND_MODULES)}
        return self._all

    def __getitem__(self, name: str) -> Any:
        if self._all is None:
            if name in self._given:
                return self._given[name]
            if name in COMMANDS:
                if name not in self._loaded:
                    self._loaded.update(_build_commands((COMMANDS[name],)))
                if name in self._loaded:
                    return self._loaded[name]
        return self._everything()[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._everything()[name] = command

    def __delitem__(self, name: str) -> None:
        del self._everything()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._everything())

    def __len__(self) -> int:
        return len(self._everything())


class RoamGroup(typer.core.TyperGroup):
    """Turns a ``RoamError`` into one plain sentence and its exit code; nothing else does.

    ``--json`` anywhere on the command line makes every outcome one JSON document on stdout:
    the result, or the ``roam.error/1`` envelope for a ``RoamError`` or a usage error (which
    exits 2, ``ExitCode.INVALID_INPUT``, as click's own usage errors do).
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands(dict(self.commands))
        self.json_anywhere = False

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        self.json_anywhere = json_requested(args)
        with _usage_errors_as_json(self.json_anywhere):
            return super().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if (
            command is not None
            and self.json_anywhere
            and getattr(command, "no_args_is_help", False)
        ):
            # A group that prints its help for a missing subcommand would put text on stdout
            # before the error envelope; under --json it is a plain usage error instead.
            command.no_args_is_help = False
        return command

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context
        try:
            with _usage_errors_as_json(self.json_anywhere):
                return super().invoke(ctx)
        except RoamError as error:
            from session_roam.cli.output import print_error  # rich: only when there is an error

            print_error(error, as_json=self.json_anywhere)
            raise typer.Exit(int(error.exit_code)) from None
        except (ClickException, typer.Exit, typer.Abort):
            raise
        except Exception as bug:
            if self.json_anywhere:  # still one document on stdout; the traceback on stderr
                from session_roam.cli.output import emit_json, error_envelope

                message = f"roam hit a bug ({type(bug).__name__}: {bug})."
                hint = "Please report it with the traceback printed on stderr."
                emit_json(error_envelope(type(bug).__name__, 1, message, hint))
            raise


@contextlib.contextmanager
def _usage_errors_as_json(as_json: bool) -> Iterator[None]:
    """Under ``--json``, a usage error becomes the error envelope on stdout (exit 2); without
    it, typer shows it as usual (also exit 2)."""
    try:
        yield
    except ClickException as error:
        if not as_json:
            raise
        from session_roam.cli.output import emit_json, error_envelope

        failed = getattr(error, "ctx", None)  # a UsageError knows its command; others do not
        where = failed.command_path if failed is not None else "roam"
        emit_json(
            error_envelope(
                "UsageError",
                error.exit_code,
                error.format_message(),
                f"Run `{where} --help` to see what is accepted.",
            )
        )
        raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    cls=RoamGroup,
    name="roam",
    no_args_is_help=False,  # `roam` alone shows the getting-started screen (cli/start.py)
    invoke_without_command=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
    help=(
        "Continue the same Claude Code conversation on any of your machines.\n\n"
        "Syncthing carries ~/.claude/projects between machines; roam makes sure only one "
        "machine writes a session at a time and turns Syncthing's conflict copies back "
        "into one timeline."
    ),
)


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        if getattr(ctx.command, "json_anywhere", False):
            from session_roam.cli.output import emit_json

            emit_json({"schema": "roam.version/1", "version": __version__})
        else:
            typer.echo(f"roam {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    json_output: JsonFlag = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="Log what roam does; -vv also logs the libraries it uses (HTTP, ...).",
        ),
    ] = 0,
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
    configure_logging(verbose)
    as_json = json_output or getattr(ctx.command, "json_anywhere", False)
    ctx.obj = Settings(json=as_json, verbose=verbose > 0, claude_dir=claude_dir)
    if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
        from session_roam.cli.start import getting_started

        getting_started(ctx.obj)


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="roam")
    finally:
        # Nothing is left to collect: skip the interpreter's final sweep over every object the
        # imports made (50-300 ms here). Objects are still freed and files flushed as usual.
        gc.freeze()
