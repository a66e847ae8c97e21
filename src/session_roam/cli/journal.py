"""`roam journal`: this machine's own copy of the turns it wrote, and putting lost ones back."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json
from session_roam.engine import lease as lease_api
from session_roam.engine.deletions import restore_journal
from session_roam.engine.sessions import Journal, JournalStatus
from session_roam.errors import SessionNotFound

__all__ = ["journal_app", "register"]

journal_app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Every machine keeps, outside the synced folder, the session lines it wrote itself. "
        "If Syncthing ever loses a version, `roam journal restore` merges them back."
    ),
)


def _resolve(journal: Journal, ref: str) -> str:
    known = journal.session_ids()
    matches = [sid for sid in known if sid.startswith(ref.lower())]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise SessionNotFound(
            f"This machine has no journal for {ref!r}.",
            hint="Run `roam journal status` to list the sessions journaled here.",
        )
    raise SessionNotFound(
        f"{ref!r} matches {len(matches)} journaled sessions: {', '.join(matches[:8])}.",
        hint="Give more characters of the id.",
    )


def _as_json(status: JournalStatus) -> dict[str, object]:
    return {
        "session_id": status.session_id,
        "journal": str(status.journal_path),
        "session_file": None if status.session_path is None else str(status.session_path),
        "records": status.records,
        "missing": status.missing,
        "open": status.open,
    }


@journal_app.command("status")
def status_command(
    ctx: typer.Context,
    session: Annotated[str | None, typer.Argument(help="Session id or unique prefix.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Show what this machine journaled and how much of it the synced files no longer hold.

    A non-zero MISSING means turns written here are gone from the synced session; `roam
    journal restore SESSION` puts them back. Example:

        roam journal status
    """
    journal = Journal()
    ids = [_resolve(journal, session)] if session else journal.session_ids()
    statuses = [journal.status(sid) for sid in ids]
    if settings_of(ctx).wants_json(json_flag):
        emit_json({"schema": "roam.journal.status/1", "sessions": [_as_json(s) for s in statuses]})
        return
    out = console()
    if not statuses:
        out.print("Nothing journaled on this machine yet.")
        return
    table = Table("SESSION", "RECORDS", "MISSING", "OPEN", "FILE")
    for status in statuses:
        table.add_row(
            status.session_id,
            str(status.records),
            str(status.missing),
            "yes" if status.open else "",
            "" if status.session_path is None else str(status.session_path),
        )
    out.print(table)


@journal_app.command("restore")
def restore_command(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="Session id or unique prefix.")],
    json_flag: JsonFlag = False,
) -> None:
    """Merge the rows this machine journaled back into the synced session file.

    The merge is the one `roam conflicts merge` uses: originals backed up first, every record
    kept, `roam conflicts undo SESSION` to go back. Example:

        roam journal restore 3f2a
    """
    journal = Journal()
    result = restore_journal(
        journal,
        _resolve(journal, session),
        is_locked=lease_api.held_check(settings_of(ctx).claude_dir),
    )
    if settings_of(ctx).wants_json(json_flag):
        emit_json(
            {
                "schema": "roam.journal.restore/1",
                "session_id": result.session_id,
                "missing": result.missing,
                "merge": None if result.merge is None else result.merge.to_dict(),
            }
        )
        return
    if result.merge is None:
        console().print(f"Nothing to restore: {result.session_path} holds every journaled row.")
        return
    console().print(
        f"Restored {result.missing} rows into {result.session_path} "
        f"(backup: {result.merge.backup})."
    )


def register(app: typer.Typer) -> None:
    app.add_typer(journal_app, name="journal")
