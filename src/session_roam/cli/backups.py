"""`roam backups`: how much the backup store holds against its bound, and pruning it."""

from __future__ import annotations

from typing import Annotated

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json
from session_roam.engine.core import BackupUsage, backups_report, backups_root

__all__ = ["backups_command", "register"]


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _render(usage: BackupUsage, where: str) -> None:
    out = console()
    bound = usage.bound
    oldest = "" if usage.oldest_days is None else f", the oldest {usage.oldest_days:.1f} days old"
    out.print(f"Backups: {_mib(usage.total_bytes)} in {usage.backups} backup(s){oldest} ({where})")
    out.print(
        f"Bound: kept {bound.keep_days:g} days; at most {bound.max_days:g} days and "
        f"{bound.max_mb:g} MB ([backups] in config.toml)",
        markup=False,
    )
    if usage.pruned:
        out.print(
            f"Pruned {len(usage.beyond)} backup(s), freed {_mib(usage.beyond_bytes)} in "
            f"{usage.seconds:.2f} s; {_mib(usage.kept_bytes)} left.",
            markup=False,
        )
    elif usage.beyond:
        out.print(
            f"Beyond the bound: {len(usage.beyond)} backup(s), {_mib(usage.beyond_bytes)}; "
            "`roam backups --prune` removes them.",
            markup=False,
        )
    if usage.over_size:
        out.print(
            f"Over {bound.max_mb:g} MB in backups younger than {bound.keep_days:g} days: kept, "
            "so their merges can be undone.",
            markup=False,
        )


def backups_command(
    ctx: typer.Context,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove the merge backups beyond the bound now.")
    ] = False,
    keep_days: Annotated[
        float | None,
        typer.Option("--keep-days", help="Never prune a backup younger than this (days)."),
    ] = None,
    max_days: Annotated[
        float | None,
        typer.Option("--max-days", help="Prune a merge backup older than this (days)."),
    ] = None,
    max_mb: Annotated[
        float | None,
        typer.Option("--max-mb", help="Prune the oldest first while the store is larger (MB)."),
    ] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Show what roam's backups of merged files cost on disk, against their bound; --prune
    removes what is beyond it.

    Every merge keeps the originals it replaced (`roam conflicts undo` puts them back); the
    same bytes are stored once however often they are backed up. A merge's backup is kept
    14 days whatever the size, then until 90 days while the store is under 2048 MB; set
    keep_days, max_days and max_mb under [backups] in config.toml. Merges prune on their own;
    lines a merge set aside are never pruned. Examples:

        roam backups
        roam backups --prune --max-mb 500
    """
    settings = settings_of(ctx)
    usage = backups_report(prune_now=prune, keep_days=keep_days, max_days=max_days, max_mb=max_mb)
    where = str(backups_root())
    if settings.wants_json(json_flag):
        emit_json({"schema": "roam.backups/1", "path": where} | usage.to_dict())
        return
    _render(usage, where)


def register(app: typer.Typer) -> None:
    app.command("backups")(backups_command)
