"""`roam cn`, `roam cfork`, `roam crf`: new and forked sessions, under the lease like `roam cr`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from session_roam.cli.context import SYNC_TIMEOUT_S
from session_roam.cli.options import NoLease
from session_roam.cli.resume import (
    ClaudeArgsCommand,
    TerminalUI,
    exit_with_outcome,
    launch_options,
)
from session_roam.engine.resume import CrOptions, ResumeOutcome, ResumeUI, run_fork, run_new

__all__ = ["register"]

_Force = Annotated[
    bool, typer.Option("--force", "-f", help="Skip the waits and take the lease over (recorded).")
]
_Timeout = Annotated[
    float, typer.Option("--timeout", min=0.0, help="Seconds to wait for the cluster.")
]


def _launch(
    ctx: typer.Context,
    run: Callable[[CrOptions, ResumeUI], ResumeOutcome],
    query: str | None,
    force: bool,
    timeout: float,
    no_lease: bool,
) -> None:
    options = launch_options(ctx, query, force=force, timeout=timeout, no_lease=no_lease)
    ui = TerminalUI()
    exit_with_outcome(lambda: run(options, ui), ui)


def cn(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new session's name (or agent:NAME/TOPIC).")],
    force: _Force = False,
    timeout: _Timeout = SYNC_TIMEOUT_S,
    no_lease: NoLease = False,
) -> None:
    """Start a new Claude Code session with a name you can resume it by later.

    The name follows CONVENTIONS.md: letters, digits, '.', '_' and '-' for people, and
    agent:<agent-name>/<topic> for automated agents. roam picks the session id and takes its
    lease before claude starts. Arguments after `--` go to claude. Examples:

        roam cn refactor-auth
        roam cn agent:reviewer/pr-42 -- -p "review the open PR"
    """
    _launch(ctx, run_new, name, force, timeout, no_lease)


def cfork(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="Session id, unique prefix or name to fork.")],
    force: _Force = False,
    timeout: _Timeout = SYNC_TIMEOUT_S,
    no_lease: NoLease = False,
) -> None:
    """Fork a past session into a new one; the original file stays byte-identical.

    Takes the original's lease and waits for every machine's turns first, so the fork starts
    from the whole conversation. Arguments after `--` go to claude. Example:

        roam cfork 3f2a9c1e
    """
    _launch(ctx, run_fork, session, force, timeout, no_lease)


def crf(
    ctx: typer.Context,
    force: _Force = False,
    timeout: _Timeout = SYNC_TIMEOUT_S,
    no_lease: NoLease = False,
) -> None:
    """Fork the most recent session of this directory (the one `claude -c` would continue).

    Unlike the seed's `crf`, there is no fixed sleep: roam waits for sync through the lease.
    Example:

        roam crf -- -p "try the other approach"
    """
    _launch(ctx, run_fork, None, force, timeout, no_lease)


def register(app: typer.Typer) -> None:
    app.command("cn", cls=ClaudeArgsCommand)(cn)
    app.command("cfork", cls=ClaudeArgsCommand)(cfork)
    app.command("crf", cls=ClaudeArgsCommand)(crf)
