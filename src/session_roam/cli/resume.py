"""`roam cr`: resume a session here, safely, the way `claude -c` / `claude -r` would."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn

import typer
import typer.core
from rich.status import Status
from rich.text import Text
from typer._click.exceptions import UsageError  # typer vendors click; no public name

from session_roam.cli.claude_args import ClaudeArgsError, split_claude_args
from session_roam.cli.context import SYNC_TIMEOUT_S, settings_of
from session_roam.cli.launched import exit_code_after_claude
from session_roam.cli.options import NoLease, SyncthingHome
from session_roam.cli.output import err_console, plain
from session_roam.engine.resume import CrOptions, ResumeOutcome, Terminated, run_cr

__all__ = ["TerminalUI", "exit_with_outcome", "register"]

_CLAUDE_ARGS: Final = "roam.claude_args"


class ClaudeArgsCommand(typer.core.TyperCommand):
    """claude's options go to claude: everything after the first ``--`` untouched, and any
    option of claude's written before it (``roam cr --model sonnet``, the bash version's form;
    see ``cli.claude_args``). Click would otherwise refuse them, or hand ``roam cr -- -p hi``
    to the SESSION argument as ``-p``.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        options: dict[str, bool] = {}
        positional: str | None = None
        for param in self.get_params(ctx):
            if isinstance(param, typer.core.TyperOption):
                for name in (*param.opts, *param.secondary_opts):
                    options[name] = not param.is_flag
            elif param.name:
                positional = param.name.upper()
        try:
            split = split_claude_args(args, options, ctx.info_name or "cr", positional)
        except ClaudeArgsError as error:
            raise UsageError(str(error), ctx) from None
        ctx.meta[_CLAUDE_ARGS] = split.claude
        result: list[str] = super().parse_args(ctx, split.roam)
        return result


class TerminalUI:
    """Warnings and questions on stderr; a spinner while waiting, only on a terminal."""

    def __init__(self) -> None:
        self._err = err_console()
        self._status: Status | None = None
        self._last_wait = ""
        self.interactive = sys.stdin.isatty() and self._err.is_terminal

    def _settle(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def warn(self, message: str) -> None:
        self._settle()
        self._err.print(
            Text("warning: ", style="bold yellow") + Text(plain(message, newlines=True))
        )

    def info(self, message: str) -> None:
        self._settle()
        self._err.print(message, markup=False)

    def confirm(self, question: str, *, default: bool = False) -> bool:
        self._settle()
        if not self.interactive:
            return False
        choices = "[Y/n]" if default else "[y/N]"
        try:
            # markup=False: rich would take "[y/N]" (and any [..] in the question) for a style.
            answer = self._err.input(f"{plain(question)} {choices} ", markup=False)
        except EOFError:
            return False
        reply = answer.strip().lower()
        return default if not reply else reply in {"y", "yes"}

    def waiting(self, message: str) -> None:
        if self._err.is_terminal:
            if self._status is None:
                self._status = self._err.status(message)
                self._status.start()
            else:
                self._status.update(message)
        elif message != self._last_wait:
            self._err.print(message, markup=False)
        self._last_wait = message

    def close(self) -> None:
        self._settle()


def cr(
    ctx: typer.Context,
    session: Annotated[
        str | None,
        typer.Argument(help="Session id, unique id prefix or custom title (default: newest here)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            "-f",
            help="Skip the checks and waits and take the lease over (loud, and recorded).",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=0.0, help="Seconds to wait for the cluster before giving up."
        ),
    ] = SYNC_TIMEOUT_S,
    no_lease: NoLease = False,
    syncthing_home: SyncthingHome = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="If no other machine can be reached, resume from this machine's files anyway "
            "(the choice may not be the newest; the lease is taken without them, on the record).",
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="If another machine holds the session, wait until it is done and then resume "
            "with its last turn, instead of stopping with exit 5 (Ctrl-C stops waiting).",
        ),
    ] = False,
) -> None:
    """Resume a Claude Code session here once every machine's turns have arrived.

    With no SESSION, resumes the session `claude -c` would pick (the newest in this directory's
    project), chosen once this machine knows what the other machines have: right after a wake it
    first waits (up to --timeout) for the peers' index, so a session another machine started
    meanwhile is not missed. If no machine can be reached it says so and what it would resume;
    --offline resumes that anyway. Before starting claude, roam takes the session's lease (so
    no other machine writes it meanwhile), waits until Syncthing has delivered the previous
    writer's last turn, merges conflict copies, and warns about stale sessions. The lease is
    released when claude exits, however it exits. If this machine's Syncthing is set up but not
    running, roam starts it; if the lease still cannot be had, roam refuses (`--no-lease` goes
    on without it). Where no machine has a session of this directory yet, starts a new
    conversation, as `claude -c` does. claude's options (`--model sonnet`) and everything
    after `--` go to claude. Examples:

        roam cr
        roam cr shared-notes
        roam cr --model sonnet
        roam cr 3f2a -- -p "summarise where we are"
        roam cr --wait        # the laptop is still on it: start the moment it is done
    """
    options = launch_options(
        ctx,
        session,
        force=force,
        timeout=timeout,
        no_lease=no_lease,
        syncthing_home=syncthing_home,
        offline=offline,
        wait=wait,
    )
    ui = TerminalUI()
    exit_with_outcome(lambda: run_cr(options, ui), ui)


def launch_options(
    ctx: typer.Context,
    query: str | None,
    *,
    force: bool,
    timeout: float,
    no_lease: bool = False,
    syncthing_home: Path | None = None,
    offline: bool = False,
    wait: bool = False,
) -> CrOptions:
    """The options of a command that launches claude (cr, cn, cfork, crf): here, with the
    global options and whatever came after ``--``."""
    return CrOptions(
        cwd=Path.cwd(),
        claude_dir=settings_of(ctx).claude_dir,
        query=query,
        force=force,
        claude_args=tuple(ctx.meta.get(_CLAUDE_ARGS, ())),
        sync_timeout_s=timeout,
        syncthing_home=syncthing_home,
        no_lease=no_lease,
        offline=offline,
        wait=wait,
    )


def exit_with_outcome(run: Callable[[], ResumeOutcome], ui: TerminalUI) -> NoReturn:
    """Run a launch and leave with roam's code for claude's status (errors.claude_exit_code),
    or 128+N when a signal ended roam."""
    try:
        outcome = run()
    except Terminated as stop:
        raise typer.Exit(128 + stop.signum) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        ui.close()
    raise typer.Exit(exit_code_after_claude(outcome.exit_code, outcome.signals))


def register(app: typer.Typer) -> None:
    app.command("cr", cls=ClaudeArgsCommand)(cr)
