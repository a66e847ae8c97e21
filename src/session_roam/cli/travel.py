"""`roam export` and `roam import`: a session, whole, to one file and back on any machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json
from session_roam.engine.travel import (
    export_session,
    export_target,
    import_session,
    import_target,
    read_bundle,
)

__all__ = ["register"]


def export_command(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="Session id, id prefix or name.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The file to write (default: <session-id>.roam.tgz)."),
    ] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Write one session, whole, to one checksummed file that `roam import` reads anywhere.

    The file holds the session, its sibling folder (subagents, tool results), its companions
    (todos, plans, file history, tasks) and where it was recorded (cwd, machine). Examples:

        roam export 0b5c7a52 -o handover.roam.tgz
        roam export birds --json
    """
    settings = settings_of(ctx)
    picked, config = export_target(session, Path.cwd(), settings.claude_dir)
    target = output if output is not None else Path(f"{picked.session_id}.roam.tgz")
    report = export_session(picked.path, picked.session_id, config, target)
    if settings.wants_json(json_flag):
        emit_json({"schema": "roam.export/1", **report.as_json()})
        return
    console().print(
        f"Exported session {report.session_id} to {report.output} ({report.members} files, "
        f"{report.bytes} bytes; companions: {len(report.companions)}).",
        markup=False,
    )


def import_command(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A file written by `roam export`.")],
    cwd: Annotated[
        Path | None,
        typer.Option("--cwd", help="The directory to file the session under (default: here)."),
    ] = None,
    merge: Annotated[
        bool,
        typer.Option("--merge", help="Join it with a different session of the same id here."),
    ] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Check an exported session whole, then place it so `roam cr` and `claude -r` resume it.

    Nothing is written until every member's name, size and checksum is checked. The session is
    filed under this directory (or --cwd, or the path `roam paths map` maps its recorded cwd
    to). A different session with the same id here is refused unless --merge. Examples:

        roam import handover.roam.tgz
        roam import handover.roam.tgz --cwd ~/code/app --json
    """
    settings = settings_of(ctx)
    bundle = read_bundle(source)
    project, config = import_target(
        bundle.cwd, Path.cwd(), cwd, settings.claude_dir, bundle.session_id
    )
    report = import_session(bundle, project, config, merge=merge)
    if settings.wants_json(json_flag):
        emit_json({"schema": "roam.import/1", **report.as_json()})
        return
    said = {
        "imported": "Imported",
        "unchanged": "Already here, unchanged:",
        "merged": "Merged into the copy here:",
    }[report.outcome]
    console().print(
        f"{said} session {report.session_id} ({report.session_file}). "
        f"Resume it with `roam cr {report.session_id}` or `claude -r {report.session_id}`.",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
    app.command("import")(import_command)
