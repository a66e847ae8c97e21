"""`roam uninstall`: undo everything roam set up on this machine; never touch a session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag, SyncthingHome
from session_roam.cli.output import console, emit_json
from session_roam.engine.setup import UninstallRequest, roam_folder_shared, run_uninstall
from session_roam.errors import InvalidInput, RoamError, SetupError

__all__ = ["register", "uninstall_command"]


def uninstall_command(
    ctx: typer.Context,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Also stop sharing the sessions folder in Syncthing, without asking.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be undone; change nothing.")
    ] = False,
    syncthing_home: SyncthingHome = None,
    json_flag: JsonFlag = False,
) -> None:
    """Undo what roam set up here: watch service, hooks, shell shortcuts, the folder share,
    the Syncthing roam started, roam's config.

    Sessions, the archive and backups are never touched (the output says where they stay),
    and a Syncthing you ran before roam keeps running. Stopping the share asks first on a
    terminal; pass --yes in scripts. Safe to run twice. Example:

        roam uninstall --dry-run
    """
    settings = settings_of(ctx)
    as_json = settings.wants_json(json_flag)
    stop_sharing = yes
    try:
        folder = roam_folder_shared(settings.claude_dir, syncthing_home)
    except RoamError:  # a broken or vanished Syncthing home: the folder-share step says so
        folder = None
    if folder is not None and not yes and not dry_run:
        if as_json or not _on_terminal():
            raise InvalidInput(
                f"roam uninstall would stop sharing the sessions folder (Syncthing folder "
                f"{folder}) and needs a confirmation.",
                hint="Run `roam uninstall --yes`, or --dry-run to see what it undoes.",
            )
        stop_sharing = typer.confirm(
            f"Stop sharing the sessions folder with other machines (Syncthing folder {folder})? "
            "No file is deleted"
        )
    result = run_uninstall(
        UninstallRequest(
            user_home=Path.home(),
            claude_dir=settings.claude_dir,
            syncthing_home=syncthing_home,
            dry_run=dry_run,
            stop_sharing=stop_sharing or (dry_run and folder is not None),
        )
    )
    if as_json:
        emit_json(
            {
                "schema": "roam.uninstall/1",
                "dry_run": result.dry_run,
                "ok": not result.failed,
                "steps": [
                    {"part": s.part, "action": s.action, "detail": s.detail} for s in result.steps
                ],
                "kept": list(result.kept),
            }
        )
    else:
        out = console()
        for step in result.steps:
            out.print(f"{step.part}: {step.detail}", markup=False)
        out.print("Never touched: " + "; ".join(result.kept) + ".", markup=False)
    if result.failed:
        failed = [s.part for s in result.steps if s.action == "failed"]
        error = SetupError(
            f"roam uninstall could not undo: {', '.join(failed)}.",
            hint="Fix what it says above and run `roam uninstall` again; it is safe to repeat.",
        )
        if as_json:
            raise typer.Exit(error.exit_code)
        raise error


def _on_terminal() -> bool:
    return sys.stdin.isatty()


def register(app: typer.Typer) -> None:
    app.command("uninstall")(uninstall_command)
