"""`roam lease`: see who writes which session, and free or take over a session by hand."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json, err_console
from session_roam.engine import lease
from session_roam.engine.conflicts import mark_stolen_session
from session_roam.engine.core import claude_config_dir, projects_dir, validate_session_id

__all__ = ["register"]

lease_app = typer.Typer(
    no_args_is_help=True,
    help=(
        "One writer per session: see the lease claims every machine publishes, release one "
        "left behind, or take a session over from a machine that is gone."
    ),
)

SessionArg = Annotated[str, typer.Argument(help="The session id (a UUID).", show_default=False)]


def _age(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


@lease_app.command("status")
def status_command(
    ctx: typer.Context,
    session: Annotated[
        str | None, typer.Argument(help="Only this session (default: every session).")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Show every lease claim this machine can see, and which ones still count.

    A claim counts ("live") until its machine releases it, or until it has not been renewed for
    its TTL as judged by THIS machine's clock. Example: `roam lease status --json`.
    """
    settings = settings_of(ctx)
    if session is not None:
        validate_session_id(session)  # before anything asks Syncthing
    with lease.open_engine(settings.claude_dir) as engine:
        views = lease.status(session, engine=engine)
    for view in views:
        if view.is_self and view.superseded_by:
            err_console().print(
                f"warning: this machine's claim on {view.session} was taken over by "
                f"{view.superseded_by[:7]} (roam lease steal); do not write it here."
            )
    if settings.wants_json(json_output):
        emit_json({"schema": "roam.lease.status/1", "leases": [v.as_json() for v in views]})
        return
    out = console()
    if not views:
        out.print("No lease claims: no session is being written anywhere.")
        return
    table = Table("session", "machine", "state", "live", "ticket", "unchanged", "note")
    for view in views:
        notes = []
        if view.is_self:
            notes.append("this machine")
        if view.expired:
            notes.append("expired")
        if view.stolen_from:
            notes.append(f"stole from {view.stolen_from[:7]}")
        if view.superseded_by:
            notes.append(f"taken over by {view.superseded_by[:7]}")
        if view.forced_past:
            notes.append("forced past " + ", ".join(d[:7] for d in view.forced_past))
        if view.error:
            notes.append(view.error)
        table.add_row(
            view.session[:8],
            f"{view.name or '?'} ({view.device[:7]})",
            view.state,
            "yes" if view.live else "no",
            str(view.ticket),
            _age(view.age_s),
            "; ".join(notes),
        )
    out.print(table)


@lease_app.command("release")
def release_command(ctx: typer.Context, session: SessionArg, json_output: JsonFlag = False) -> None:
    """Release this machine's claim on a session, say one left by a roam that was killed.

    Refused while a roam on this machine still uses the session. Example:
    `roam lease release 0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70`.
    """
    settings = settings_of(ctx)
    validate_session_id(session)  # a bad id is refused before anything asks Syncthing
    with lease.open_engine(settings.claude_dir) as engine:
        done = lease.release(session, engine=engine)
    if settings.wants_json(json_output):
        emit_json({"schema": "roam.lease.release/1", "session": session, "released": done})
    elif done:
        console().print(f"Released this machine's claim on {session}.")
    else:
        console().print(f"This machine holds no claim on {session}; nothing to release.")


@lease_app.command("steal")
def steal_command(ctx: typer.Context, session: SessionArg, json_output: JsonFlag = False) -> None:
    """Take a session over from the machine holding it, on the record.

    For when that machine is off or gone: its claim stops counting everywhere, it is warned
    when it next renews or runs roam, and unreachable peers are skipped (and recorded). If it
    is still writing, expect a conflict copy. Example: `roam lease steal 0b5f3c1e-...`,
    then `roam cr` to continue the session here.
    """
    settings = settings_of(ctx)
    validate_session_id(session)
    with lease.open_engine(settings.claude_dir) as engine:
        victim = lease.steal(session, engine=engine)
        if victim is not None:  # its claude may still write: record where this machine starts
            projects = projects_dir(claude_config_dir(settings.claude_dir))
            mark_stolen_session(projects, session, engine.device_id)
    if settings.wants_json(json_output):
        emit_json(
            {
                "schema": "roam.lease.steal/1",
                "session": session,
                "stolen_from": victim.device if victim else None,
            }
        )
    elif victim is None:
        console().print(f"Nobody held {session}; nothing to take over.")
    else:
        name = victim.claim.name if victim.claim and victim.claim.name else victim.device[:7]
        console().print(
            f"Took {session} over from {name} ({victim.device[:7]}); "
            "continue it here with `roam cr`."
        )


def register(app: typer.Typer) -> None:
    app.add_typer(lease_app, name="lease")
