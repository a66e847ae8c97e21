"""`roam restore` and `roam rm`: bring back sessions this machine lost; remove one everywhere."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag, SyncthingHome
from session_roam.cli.output import console, emit_json, err_console
from session_roam.engine.core import claude_config_dir, projects_dir
from session_roam.engine.deletions import remove_here, restore_here
from session_roam.errors import InvalidInput

__all__ = ["register"]

DryRun = Annotated[bool, typer.Option("--dry-run", help="Only say what would happen.")]


def _progress(done: int, total: int) -> None:
    if total > 1 and err_console().is_terminal:
        err_console().print(f"\rrestored {done}/{total} files", end="", markup=False)
        if done == total:
            err_console().print("")


def restore_command(
    ctx: typer.Context,
    session: Annotated[str | None, typer.Argument(help="Session id to bring back.")] = None,
    all_flag: Annotated[bool, typer.Option("--all", help="Bring back every lost session.")] = False,
    dry_run: DryRun = False,
    syncthing_home: SyncthingHome = None,
    json_flag: JsonFlag = False,
) -> None:
    """List the sessions this machine lost (deleted, wiped, cleaned up) and bring them back.

    The local archive keeps every session's bytes when its file is unlinked; with no argument
    this only lists what can come back. A restored file never replaces one that exists, and
    Syncthing carries it back to the peers. Examples:

        roam restore --dry-run
        roam restore --all
        roam restore 0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40
    """
    if session is not None and all_flag:
        raise InvalidInput(
            "Give a session id or --all, not both.", hint="Example: roam restore --all"
        )
    settings = settings_of(ctx)
    projects = projects_dir(claude_config_dir(settings.claude_dir))
    listing = session is None and not all_flag
    result = restore_here(
        projects,
        session=session,
        dry_run=dry_run or listing,
        syncthing_home=syncthing_home,
        progress=_progress,
    )
    if settings.wants_json(json_flag):
        emit_json(
            {
                "schema": "roam.restore/1",
                "dry_run": result.dry_run,
                "lost": [item.to_json() for item in result.lost],
                "restored": list(result.restored),
                "skipped": list(result.skipped),
                "seconds": round(result.seconds, 3),
            }
        )
        return
    out = console()
    if not result.lost:
        out.print("This machine has lost no session that roam can bring back.", markup=False)
        return
    for item in result.lost:
        where = {
            "archive": f"{item.bytes} bytes in the archive",
            "journal": "only the rows written here, in this machine's journal",
        }.get(item.source, f"held by {item.source.removeprefix('peer ')}")
        out.print(
            f"{item.session}  {item.project}  {len(item.files)} file(s), {where}", markup=False
        )
    if any(item.source.startswith("peer ") for item in result.lost):
        out.print(
            "Sessions a peer holds come back by themselves when roam runs there (`roam watch`, "
            "or `roam verify --fix` on that machine).",
            markup=False,
        )
    if result.dry_run:
        hint = "roam restore --all" if listing else "run it again without --dry-run"
        out.print(f"Nothing changed; to bring them back: {hint}.", markup=False)
        return
    out.print(
        f"Brought back {len(result.restored)} file(s) in {result.seconds:.2f} s"
        + (
            f"; left {len(result.skipped)} alone (a newer file is there, or a link roam does "
            "not follow)."
            if result.skipped
            else "."
        ),
        markup=False,
    )


def rm_command(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="Full id of the session to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: DryRun = False,
    syncthing_home: SyncthingHome = None,
    json_flag: JsonFlag = False,
) -> None:
    """Remove a session and its companions on every machine, for good.

    Deleting a session file by hand removes it only here (other machines keep theirs and give
    it back). `roam rm` backs the bytes up outside the synced folder, then leaves a tombstone
    that every machine's roam applies. Example:

        roam rm 0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40 --dry-run
    """
    settings = settings_of(ctx)
    projects = projects_dir(claude_config_dir(settings.claude_dir))
    if not dry_run and not yes:
        if not sys.stdin.isatty():
            raise InvalidInput(
                "roam rm removes a session on every machine and needs a confirmation.",
                hint=f"Run `roam rm {session} --yes`, or --dry-run to see what it removes.",
            )
        if not typer.confirm(f"Remove session {session} on every machine?"):
            raise typer.Exit(1)
    removal = remove_here(projects, session, dry_run=dry_run, syncthing_home=syncthing_home)
    if settings.wants_json(json_flag):
        emit_json(
            {
                "schema": "roam.rm/1",
                "dry_run": dry_run,
                "session": removal.session,
                "files": list(removal.paths),
                "bytes": removal.bytes,
                "backup": removal.backup,
            }
        )
        return
    verb = "Would remove" if dry_run else "Removed"
    console().print(
        f"{verb} {removal.session}: {len(removal.paths)} file(s), {removal.bytes} bytes"
        + (f"; backup in {removal.backup}" if removal.backup else "")
        + ("" if dry_run else "; every machine running roam removes its copy too."),
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("restore")(restore_command)
    app.command("rm")(rm_command)
