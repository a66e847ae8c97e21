"""`roam ls`, `roam cf` and `roam cs`: see, search and pick the sessions there are."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.ls_json import cluster_notice, ls_json, warn_unreadable_file
from session_roam.cli.ls_view import (
    TABLE_MAX_ROWS,
    live_cell,
    stream_json,
    stream_rows,
)
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, err_console, human_size, plain
from session_roam.cli.search import short_time
from session_roam.engine.core import claude_config_dir, project_dir_for, projects_dir, xdg
from session_roam.engine.resume import cluster_state
from session_roam.engine.sessions import (
    SessionSummary,
    foreign_cwds,
    lease_facts,
    list_summaries,
    load_pathmap,
    stream_summaries,
    suggest_for_cwd,
    suggest_mapping,
    with_lease_facts,
)

__all__ = ["register"]

_PROGRESS_FROM_BYTES: Final = 16 * 1024 * 1024


def _label(summary: SessionSummary) -> str:
    return plain(summary.title or summary.first_prompt or "(no prompt yet)")


def ls(
    ctx: typer.Context,
    all_projects: Annotated[
        bool, typer.Option("--all", "-a", help="Every project's sessions, not just this one's.")
    ] = False,
    json_output: JsonFlag = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="At most this many sessions.")
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", help="time (newest first), size (largest first) or project.")
    ] = "time",
    project: Annotated[
        str | None, typer.Option("--project", help="Only sessions whose directory contains this.")
    ] = None,
    machine: Annotated[
        str | None,
        typer.Option("--machine", help="Only sessions this machine holds or wrote last."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Active since: 2026-05-01, or an age (7d, 36h).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Active until: 2026-05-01, or an age (7d, 36h).")
    ] = None,
) -> None:
    """List this directory's Claude Code sessions, newest first.

    Shows each session's id, name (from `claude -n` or /rename), first and last prompt, last
    activity, turns, size, pending Syncthing conflict copies, and where it is live: the machine
    holding its lease (and whether claude runs there now), else the machine that wrote it
    last. Sessions recorded under another machine's path count as this directory's once
    `roam paths map` says so. Read from roam's summary cache, which re-reads only the session
    files that changed; a long list goes through your pager. Examples:

        roam ls
        roam ls --all --sort size --limit 20
        roam ls --all --machine laptop --since 7d
        roam ls --all --json | jq '.[].session_id'
    """
    from session_roam.engine.sessions import LsQuery, parse_when

    query = LsQuery(
        sort=sort,
        limit=limit,
        project=project,
        machine=machine,
        since=None if since is None else parse_when(since),
        until=None if until is None else parse_when(until),
    )
    settings = settings_of(ctx)
    if settings.wants_json(json_output) and query.only_sorts:
        # the common case, at 50,000 sessions: the cache's rows straight to JSON text (the
        # start-up fast path runs the same body, cli/fast_ls.py)
        ls_json(settings, all_projects=all_projects, sort=query.sort, limit=query.limit)
        return
    config = claude_config_dir(settings.claude_dir)
    pathmap = load_pathmap(xdg.config_dir())
    cluster_notice(settings, config, all_projects=all_projects)
    here = None if all_projects else Path.cwd()
    count, stream = stream_summaries(config, pathmap, cwd=here, sort=query.sort)
    facts = lease_facts(settings.claude_dir) if count else {}
    seen = _Seen()
    selected = seen.watch(query.select(stream, facts))
    if settings.wants_json(json_output):
        stream_json(selected)
    elif min(count, query.limit or count) > TABLE_MAX_ROWS:
        stream_rows(selected, all_projects=all_projects, leases=bool(facts), count=count)
    elif not (summaries := tuple(selected)):
        err_console().print(
            "No sessions here yet. Start one with `roam cn NAME`, or see every project's with "
            "`roam ls --all`.",
            markup=False,
        )
    else:
        _render_table(summaries, all_projects=all_projects)
    _warn_unreadable(seen.unreadable)
    if settings.wants_json(json_output):
        return
    suggestion = (
        suggest_mapping(foreign_cwds(tuple(seen.by_cwd.values()), pathmap), Path.home())
        if all_projects
        else suggest_for_cwd(Path.cwd(), Path.home(), projects_dir(config), pathmap)
    )
    if suggestion is not None:
        err_console().print(
            f"Some sessions were recorded under {suggestion.source}, which does not exist here. "
            f"If that is this machine's {suggestion.target}, run: {suggestion.command}",
            markup=False,
        )


class _Seen:
    """What the list showed that is said after it: unreadable files, one session per cwd."""

    def __init__(self) -> None:
        self.unreadable: list[SessionSummary] = []
        self.by_cwd: dict[str, SessionSummary] = {}

    def watch(self, summaries: Iterator[SessionSummary]) -> Iterator[SessionSummary]:
        for s in summaries:
            if s.unreadable:
                self.unreadable.append(s)
            if s.cwd and s.cwd not in self.by_cwd:
                self.by_cwd[s.cwd] = s
            yield s


def _warn_unreadable(summaries: Sequence[SessionSummary]) -> None:
    """One line per session file that could not be read, naming it and the fix."""
    for s in summaries:
        if s.unreadable:
            warn_unreadable_file(str(s.path), s.unreadable)


def _render_table(summaries: Sequence[SessionSummary], *, all_projects: bool) -> None:
    """The sessions as a table; every cell from a file goes through ``plain``."""
    out = console()
    from rich.table import Table  # only a person at a terminal pays for tables

    table = Table(box=None, pad_edge=False)
    wide = out.width >= 120
    table.add_column("id", no_wrap=True, min_width=8)
    table.add_column("name / first prompt", no_wrap=True, overflow="ellipsis", ratio=2)
    if wide:
        table.add_column("last prompt", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("last activity", no_wrap=True, min_width=16)
    table.add_column("turns", justify="right", no_wrap=True, min_width=5)
    table.add_column("size", justify="right", no_wrap=True, min_width=7)
    table.add_column("conflicts", justify="right", no_wrap=True)
    leases = any(s.lease_holder or s.last_writer for s in summaries)
    if leases:
        table.add_column("writer", no_wrap=True)
    if all_projects:
        table.add_column("cwd", no_wrap=True, overflow="ellipsis", ratio=1)
    for s in summaries:
        cells = [s.session_id[:8], _label(s)]
        if wide:
            cells.append(plain(s.last_prompt or "-"))
        cells += [
            short_time(s.last_activity),
            "unreadable" if s.unreadable else str(s.turns),
            human_size(s.size),
            str(s.conflict_copies) if s.conflict_copies else "",
        ]
        if leases:
            cells.append(plain(live_cell(s)))
        if all_projects:
            cells.append(plain(s.local_cwd or "?"))
        table.add_row(*cells)
    out.print(table)


def cf(
    ctx: typer.Context,
    keywords: Annotated[list[str], typer.Argument(help="Words to find (FTS5 syntax allowed).")],
    all_projects: Annotated[
        bool, typer.Option("--all", "-a", help="Search every project, not just this one.")
    ] = False,
    json_output: JsonFlag = False,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="At most this many sessions (1 to 10,000).")
    ] = 20,
) -> None:
    """Find sessions that mention something, best match first (exit 8 when none does).

    Searches what you typed, what Claude answered and the tools it ran, through an index in
    roam's cache that only reads what was appended since the last search. Words must all
    appear; "quoted phrases", OR, NOT and prefix* work as in SQLite FTS5. Examples:

        roam cf rsync backup
        roam cf --all '"rate limit" OR throttle' --json
    """
    from dataclasses import replace

    from session_roam.cli.search import run_cf

    settings = settings_of(ctx)
    as_json = settings.wants_json(json_output)
    progress = None if as_json or not sys.stderr.isatty() else _ProgressBar()
    try:
        code = run_cf(
            replace(settings, json=as_json),
            keywords,
            all_projects=all_projects,
            limit=limit,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    raise typer.Exit(code)


class _ProgressBar:
    """A progress bar for the first, long index build; nothing for the usual small refresh."""

    def __init__(self) -> None:
        self._bar: Any = None  # rich.progress.Progress, imported only when a bar is shown
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if total < _PROGRESS_FROM_BYTES:
            return
        if self._bar is None:
            from rich.progress import Progress

            self._bar = Progress(console=err_console(), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("Indexing sessions", total=total)
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def cs(
    ctx: typer.Context,
    all_projects: Annotated[
        bool, typer.Option("--all", "-a", help="Browse every project's sessions.")
    ] = False,
    fzf: Annotated[
        bool, typer.Option("--fzf/--no-fzf", help="Use fzf when installed (default), or not.")
    ] = True,
) -> None:
    """Browse sessions with a preview and resume the one you pick (through `roam cr`).

    Uses fzf when it is installed (type to filter, the conversation shows on the right), a
    numbered list otherwise; both work in a plain terminal over SSH. Enter resumes the session
    the safe way: lease first, then wait for sync, then claude. Example:

        roam cs
    """
    from session_roam.cli.browse import browse_and_resume

    settings = settings_of(ctx)
    config = claude_config_dir(settings.claude_dir)
    pathmap = load_pathmap(xdg.config_dir())
    cluster = cluster_state(
        settings.claude_dir, None if all_projects else project_dir_for(Path.cwd(), config)
    )
    if cluster is not None and (notice := cluster.notice()):
        err_console().print(f"note: {notice}", markup=False)
    summaries = list_summaries(config, pathmap, cwd=None if all_projects else Path.cwd())
    if summaries:
        summaries = with_lease_facts(summaries, lease_facts(settings.claude_dir))
    raise typer.Exit(browse_and_resume(ctx, summaries, use_fzf=fzf))


def register(app: typer.Typer) -> None:
    app.command("ls")(ls)
    app.command("cf")(cf)
    app.command("cs")(cs)
