"""`roam hooks`: make a plain `claude` take and release the lease, like `roam cr` does."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json, err_console
from session_roam.engine import lease as lease_api
from session_roam.engine.claude import (
    HOOK_EVENTS,
    HookRunner,
    HooksChange,
    ProcessKeeper,
    claude_pid_of_hook,
    install_hooks,
    keep,
    parse_payload,
    read_stdin_payload,
    report_to_stdout,
    roam_argv,
    settings_path,
    status_hooks,
    uninstall_hooks,
)
from session_roam.engine.core import claude_config_dir
from session_roam.engine.resume import acquire_lease
from session_roam.engine.sessions import Journal
from session_roam.engine.travel import carry_for_hook, place_for_hook
from session_roam.errors import (
    InvalidInput,
    RoamError,
    SyncthingConfigMissing,
    SyncthingError,
)

__all__ = ["hooks_app", "register"]

hooks_app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Claude Code hooks that make a plain `claude` claim the session's lease and journal "
        "its turns, so sessions not started with `roam cr` are protected too."
    ),
)


def _settings_file(ctx: typer.Context) -> Path:
    return settings_path(claude_config_dir(settings_of(ctx).claude_dir))


def _render(ctx: typer.Context, change: HooksChange, verb: str, json_flag: bool) -> None:
    if settings_of(ctx).wants_json(json_flag):
        emit_json(
            {
                "schema": "roam.hooks.change/1",
                "action": verb,
                "settings": str(change.settings),
                "changed": change.changed,
                "backup": None if change.backup is None else str(change.backup),
                "commands": list(change.commands),
            }
        )
        return
    out = console()
    if not change.changed:
        out.print(f"Nothing to do: {change.settings} already {verb}.")
        return
    out.print(f"Updated {change.settings}.")
    if change.backup is not None:
        out.print(f"The previous settings are kept in {change.backup}.")


@hooks_app.command("install")
def install_command(
    ctx: typer.Context,
    json_flag: JsonFlag = False,
) -> None:
    """Add roam's SessionStart/SessionEnd hooks to Claude Code's settings.json.

    Every other setting and every other hook stays as it is; the previous file is kept in
    roam's state folder, and running it again changes nothing. Example:

        roam hooks install
    """
    change = install_hooks(_settings_file(ctx))
    _render(ctx, change, "has roam's hooks", json_flag)


@hooks_app.command("uninstall")
def uninstall_command(
    ctx: typer.Context,
    json_flag: JsonFlag = False,
) -> None:
    """Remove roam's hooks (and only roam's) from Claude Code's settings.json.

    Example:

        roam hooks uninstall
    """
    change = uninstall_hooks(_settings_file(ctx))
    _render(ctx, change, "has no roam hooks", json_flag)


@hooks_app.command("status")
def status_command(
    ctx: typer.Context,
    json_flag: JsonFlag = False,
) -> None:
    """Show whether roam's hooks are installed and point at this roam.

    Example:

        roam hooks status
    """
    status = status_hooks(_settings_file(ctx))
    if settings_of(ctx).wants_json(json_flag):
        emit_json(
            {
                "schema": "roam.hooks.status/1",
                "settings": str(status.settings),
                "installed": {k: list(v) for k, v in status.installed.items()},
                "expected": status.expected,
                "complete": status.complete,
            }
        )
        return
    out = console()
    for event in HOOK_EVENTS:
        found = status.installed.get(event, ())
        state = "installed" if found == (status.expected[event],) else "missing"
        if found and state == "missing":
            state = "installed, but for another roam: run `roam hooks install`"
        out.print(f"{event}: {state}")
    if not status.any_installed:
        out.print("Run `roam hooks install` so that a plain `claude` takes the lease too.")


def _warn(message: str) -> None:
    err_console().print(message, markup=False, style="bold red")


def _carry_then_release(lease: Any, transcript: Path, session: str) -> None:
    """Claude is gone: its companions go into the session's folder, then the lease is let go."""
    carry_for_hook(transcript, session, _warn)  # engine.travel
    lease.release(stamp=True)


@hooks_app.command("run", hidden=True)
def run_command(
    event: Annotated[str, typer.Argument(help="session-start, session-end or keep.")],
    session: Annotated[str | None, typer.Option("--session")] = None,
    pid: Annotated[int, typer.Option("--pid")] = 0,
    transcript: Annotated[Path | None, typer.Option("--transcript")] = None,
) -> None:
    """Called by Claude Code (and by roam itself); never fails, never blocks claude."""
    if event == "keep":
        if session is None or transcript is None:
            raise typer.Exit(0)
        keep(
            session,
            pid,
            transcript,
            acquire=lambda sid, path: acquire_lease(sid, path),
            release=lambda lease: _carry_then_release(lease, transcript, session),
            report=report_to_stdout,
        )
        raise typer.Exit(0)
    if event not in HOOK_EVENTS.values():
        raise typer.Exit(0)
    try:
        payload = parse_payload(read_stdin_payload(sys.stdin.buffer))
    except RoamError as exc:
        _warn(f"roam hooks: {exc.message}")
        raise typer.Exit(0) from None
    keeper: ProcessKeeper | None
    try:
        lease_api.open_engine()
        keeper = ProcessKeeper([*roam_argv(), "hooks", "run", "keep"])
    except SyncthingConfigMissing:
        keeper = None
    except (SyncthingError, InvalidInput) as exc:  # InvalidInput: roam's config.toml
        _warn(f"roam: cannot coordinate session {payload.session_id}: {exc.message}")
        keeper = None
    runner = HookRunner(journal=Journal(), keeper=keeper, warn=_warn)
    if event == "session-start":
        runner.session_start(payload, claude_pid=claude_pid_of_hook())
        place_for_hook(payload.transcript_path, payload.session_id, _warn)  # engine.travel
    else:
        runner.session_end(payload)
    raise typer.Exit(0)


def register(app: typer.Typer) -> None:
    app.add_typer(hooks_app, name="hooks")
