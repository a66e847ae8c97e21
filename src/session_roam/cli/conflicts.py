"""`roam conflicts`: find Syncthing conflict copies of sessions and merge them back.

JSON output (``--json``) is one document per command; its ``schema`` key names the shape and
changes only with a new version number (see the README for every field).
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.progress import Progress
from rich.table import Table

from session_roam.cli.context import Settings, settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json, err_console, human_size, print_tsv
from session_roam.engine.conflicts import (
    MergeResult,
    backed_up_sessions,
    describe_pending,
    merge_sessions,
    pending_sessions,
    resolve_backup_session,
    resolve_session,
    undo_session,
)
from session_roam.engine.core import (
    SessionFiles,
    check_session_version,
    claude_config_dir,
    find_links,
    project_dir_for,
    projects_dir,
)
from session_roam.engine.lease import held_check
from session_roam.errors import InvalidInput

__all__ = ["conflicts_app", "register"]

_PROGRESS_AFTER_S: Final = 1.0

conflicts_app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Find Syncthing conflict copies of sessions and merge them back into one timeline.\n\n"
        "Claude Code never reads `*.sync-conflict-*` files, so the turns in them are invisible "
        "until they are merged. Start with `roam conflicts list --all`."
    ),
)


def _roots(settings: Settings) -> tuple[Path, Path]:
    config = claude_config_dir(settings.claude_dir)
    return config, projects_dir(config)


def _roam(settings: Settings) -> str:
    """``roam`` as this command was run: a suggestion must read the same Claude dir."""
    if settings.claude_dir is None:
        return "roam"
    return f"roam --claude-dir {shlex.quote(str(settings.claude_dir))}"


def _human_size(size: int | None) -> str:
    return "gone" if size is None else human_size(size)


class _LateProgress:
    """A progress bar that appears only on a terminal and only once a merge passed 1 s."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._bar: Progress | None = None
        self._task: Any = None
        self._enabled = err_console().is_terminal

    def __call__(self, done: int, total: int, what: str) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            if time.monotonic() - self._start < _PROGRESS_AFTER_S or done >= total:
                return
            self._bar = Progress(console=err_console(), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("merging", total=total)
        self._bar.update(self._task, completed=done, description=f"merged {what[:8]}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@conflicts_app.command("list")
def list_command(
    ctx: typer.Context,
    all_projects: Annotated[
        bool, typer.Option("--all", help="Look in every project, not just this directory's.")
    ] = False,
    json_flag: JsonFlag = False,
) -> None:
    """List sessions that have Syncthing conflict copies waiting to be merged.

    Without --all only the project of the current directory is searched (the folder Claude
    Code uses for it). Example:

        roam conflicts list --all
    """
    settings = settings_of(ctx)
    config, root = _roots(settings)
    scope = None if all_projects else project_dir_for(Path.cwd(), config)
    rows = [describe_pending(session) for session in pending_sessions(root, scope)]
    links = [os.path.relpath(p, root) for p in find_links(scope or root)]
    if settings.wants_json(json_flag):
        emit_json(
            {
                "schema": "roam.conflicts.list/1",
                "scope": "all" if scope is None else "project",
                "project_dir": None if scope is None else str(scope),
                "sessions": rows,
                "links": links,
            }
        )
        return
    out = console()
    if links:  # issue 22: a link is never merged; say so rather than hide it
        out.print(
            "Not merged, symbolic links (look at them; `roam verify` lists all): "
            + ", ".join(links),
            markup=False,
        )
    if not rows:
        where = "any project" if scope is None else f"{scope}"
        out.print(f"No conflict copies in {where}.", markup=False)
        return
    if out.is_terminal:
        table = Table("session", "project", "copies", "main file")
        for row in rows:
            table.add_row(
                row["session_id"],
                Path(row["project_dir"]).name,
                _copies(row),
                "yes" if row["main_exists"] else "missing",
            )
        out.print(table, markup=False)
    else:
        for row in rows:
            missing = () if row["main_exists"] else ("main file missing",)
            print_tsv(
                out, (row["session_id"], _copies(row), Path(row["project_dir"]).name, *missing)
            )
    out.print(
        f"Run `{_roam(settings)} conflicts merge --all` to merge {len(rows)} session(s).",
        markup=False,
    )


def _copies(row: dict[str, Any]) -> str:
    """The copies column: how many, and whether two machines also forked the file itself."""
    count = str(len(row["conflict_copies"]))
    return f"{count} + take-over fork" if row["take_over_fork"] else count


def _print_result(result: MergeResult) -> None:
    out = console()
    plan = result.plan
    sid = plan.session.session_id
    if result.status == "nothing-to-do":
        out.print(f"{sid}: no conflict copies; nothing to do.", markup=False)
        return
    verb = {"dry-run": "would merge", "merged": "merged"}[result.status]
    out.print(f"{sid} ({plan.session.project_dir.name}): {verb}", markup=False)
    for file_plan in plan.files:
        out.print(f"  {file_plan.relative} ({file_plan.kind}: {file_plan.action})", markup=False)
        for version in file_plan.versions:
            out.print(
                f"    {_human_size(version.size):>9} {version.lines:>6} lines  {version.label}",
                markup=False,
            )
        if file_plan.outcome is not None:
            out.print(f"    -> {file_plan.outcome.report.summary()}", markup=False)
            if file_plan.outcome.set_aside:
                count = len(file_plan.outcome.set_aside)
                out.print(f"    -> {count} line(s) set aside (kept in the backup)", markup=False)
        for kept, _data in file_plan.kept:
            out.print(f"    -> the other content is kept as {kept}", markup=False)
    if result.status == "merged":
        out.print(
            f"  Removed {len(result.removed)} conflict copies; originals backed up in "
            f"{result.backup}",
            markup=False,
        )
        if result.remaining:
            out.print(
                f"  Still there (changed meanwhile): {', '.join(result.remaining)}", markup=False
            )
            out.print(
                "  Run `roam conflicts merge` again once Syncthing has settled.", markup=False
            )
    elif result.status == "dry-run":
        out.print("  Nothing was written (dry run).", markup=False)


@conflicts_app.command("show")
def show_command(
    ctx: typer.Context,
    session: Annotated[
        str, typer.Argument(metavar="SESSION", help="Session id, unique id prefix, or file path.")
    ],
    json_flag: JsonFlag = False,
) -> None:
    """Show the versions of a session and what merging them would do, without writing anything.

    Lists every file with conflict copies (the transcript, subagent transcripts, other files
    in the session's folder), their sizes and line counts, and the merge report. Example:

        roam conflicts show 3f2a
    """
    settings = settings_of(ctx)
    _config, root = _roots(settings)
    found = resolve_session(session, root)
    (result,) = merge_sessions([found], dry_run=True)
    if settings.wants_json(json_flag):
        emit_json({"schema": "roam.conflicts.show/1", "session": result.to_dict()})
        return
    _print_result(result)


@conflicts_app.command("merge")
def merge_command(
    ctx: typer.Context,
    session: Annotated[
        str | None,
        typer.Argument(metavar="SESSION", help="Session id, unique id prefix, or file path."),
    ] = None,
    all_projects: Annotated[
        bool, typer.Option("--all", help="Merge every session with conflicts, in every project.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    with_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--with",
            metavar="FILE",
            help="Another version of the session file to merge in (repeatable): a backup, "
            "a file from .stversions, a copy from another machine.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Merge even if another node holds the lease.")
    ] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Merge conflict copies back into one timeline that Claude Code resumes whole.

    Every record of every version is kept; the originals go to a backup outside the synced
    folder first (`roam conflicts undo` restores them), then the merged file is written
    atomically and the conflict copies are removed. Without SESSION or --all, the sessions of
    the current directory's project are merged. Examples:

        roam conflicts merge --all --dry-run
        roam conflicts merge 3f2a --with ~/old/3f2a....jsonl
    """
    settings = settings_of(ctx)
    config, root = _roots(settings)
    if session is not None and all_projects:
        raise InvalidInput("Give either a SESSION or --all, not both.")
    sessions: tuple[SessionFiles, ...]
    if session is not None:
        sessions = (resolve_session(session, root),)
        for extra in with_files or ():
            check_session_version(extra, sessions[0].session_id)
    else:
        sessions = pending_sessions(
            root, None if all_projects else project_dir_for(Path.cwd(), config)
        )
    progress = _LateProgress()
    try:
        results = merge_sessions(
            sessions,
            extras=tuple(with_files or ()),
            dry_run=dry_run,
            is_locked=held_check(settings.claude_dir),
            force=force,
            on_progress=progress,
        )
    finally:
        progress.close()
    if settings.wants_json(json_flag):
        emit_json(
            {
                "schema": "roam.conflicts.merge/1",
                "dry_run": dry_run,
                "sessions": [result.to_dict() for result in results],
            }
        )
        return
    if not results:
        console().print("No conflict copies to merge.")
    for result in results:
        _print_result(result)


@conflicts_app.command("undo")
def undo_command(
    ctx: typer.Context,
    session: Annotated[
        str, typer.Argument(metavar="SESSION", help="Session id or unique id prefix.")
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Restore even if the merged file was written to since."),
    ] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Undo the last merge of a session: put the original files back byte for byte.

    The merged files are replaced by the backed-up originals, conflict copies included, and
    files the merge created are removed. If the session was continued after the merge, undo
    refuses unless --force (which first backs up the current files). Example:

        roam conflicts undo 3f2a
    """
    settings = settings_of(ctx)
    _config, root = _roots(settings)
    session_id = resolve_backup_session(session, backed_up_sessions())
    result = undo_session(session_id, root, force=force)
    if settings.wants_json(json_flag):
        emit_json({"schema": "roam.conflicts.undo/1"} | result.to_dict())
        return
    out = console()
    out.print(
        f"{session_id}: restored {len(result.restored)} file(s) from {result.backup}", markup=False
    )
    for relative in result.removed:
        out.print(f"  removed {relative} (created by the merge)", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(conflicts_app, name="conflicts")
