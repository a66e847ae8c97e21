"""`roam verify`: is every part of session sync healthy, and what exactly fixes what is not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag, SyncthingHome
from session_roam.cli.output import console, emit_json, err_console
from session_roam.errors import ExitCode

if TYPE_CHECKING:
    from session_roam.engine.verify import VerifyReport

__all__ = ["register", "render", "verify_command"]

_MARK = {"ok": "ok", "info": "info", "advice": "tip", "warn": "warn", "fail": "FAIL"}
_STYLE = {"ok": "green", "info": "blue", "advice": "cyan", "warn": "yellow", "fail": "bold red"}


def render(report: VerifyReport) -> None:
    """A rich table on a terminal; one plain line per finding (and its fix) otherwise."""
    out = console()
    for action in report.fixes:
        mark = "fixed" if action.ok else "not fixed"
        out.print(f"{mark}: {action.dimension}: {action.detail}", markup=False)
    if out.is_terminal:
        table = Table("", "dimension", "finding", "fix", box=None, pad_edge=False)
        for f in report.findings:
            table.add_row(
                Text(_MARK[f.status], style=_STYLE[f.status]), f.dimension, f.message, f.fix or ""
            )
        out.print(table)
    else:
        for f in report.findings:
            out.print(f"{_MARK[f.status]:<4} {f.dimension:<10} {f.message}", markup=False)
            if f.fix and f.status != "ok":
                out.print(f"{'':<15} fix: {f.fix}", markup=False)
    fails = sum(1 for f in report.findings if f.status == "fail")
    warns = sum(1 for f in report.findings if f.status == "warn")
    tips = sum(1 for f in report.findings if f.status == "advice")
    notes = sum(1 for f in report.findings if f.status == "info")
    if not fails and not warns:
        extra = f" {tips} optional suggestion(s) above." if tips else ""
        extra += f" {notes} note(s) for your information." if notes else ""
        out.print(f"All checks passed.{extra}", markup=False)
    elif not fails:
        out.print(f"Passed with {warns} warning(s).", markup=False)
    else:
        out.print(f"{fails} problem(s), {warns} warning(s).", markup=False)
        if any(f.auto for f in report.findings) and not report.fixed:
            out.print("`roam verify --fix` repairs the ones marked safe to fix.", markup=False)


def verify_command(
    ctx: typer.Context,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Apply the safe fixes (.stignore patterns, merging conflicts of sessions "
            "nobody holds, restarting a Syncthing roam started), then check again.",
        ),
    ] = False,
    syncthing_home: SyncthingHome = None,
    shell: Annotated[
        str | None,
        typer.Option("--shell", help="Check the shortcuts of this shell (default: $SHELL)."),
    ] = None,
    json_flag: JsonFlag = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read every session file again, not only what changed since the last run "
            "and a rotating sample of the rest.",
        ),
    ] = False,
) -> None:
    """Check every part of session sync and say the exact command that fixes each problem.

    Checks Syncthing (running, API key, loopback-only GUI), the sessions folder, peers, that
    this machine's sessions are on every peer, .stignore, conflict copies, shell shortcuts,
    agent namespaces, leases, version and clock skew between peers, paths with no mapping, disk
    space, and that an always-on node gets the folder encrypted only. Each finding is ok,
    info (nothing to do), tip (an optional part, such as the shell shortcuts), warn (look at
    it) or FAIL; exits 0 when nothing fails and 7 when something does.
    Example:

        roam verify --fix
    """
    from session_roam.engine import verify as engine  # lazily: keeps every other command quick
    from session_roam.engine.setup import detect_shell

    settings = settings_of(ctx)
    if shell is not None:
        detect_shell(shell)  # an unknown shell is a wrong command line, not a finding
    progress = _FullProgress() if full and err_console().is_terminal else None
    request = engine.VerifyRequest(
        claude_dir=settings.claude_dir,
        syncthing_home=syncthing_home,
        shell=shell,
        full=full,
        progress=progress,
    )
    try:
        report = engine.verify(request, fix=fix)
    finally:
        if progress is not None:
            progress.close()
    if settings.wants_json(json_flag):
        emit_json(report.to_json())
    else:
        render(report)
    if report.failed:
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))


class _FullProgress:
    """A progress bar on stderr while ``verify --full`` reads every session file (TTY only)."""

    def __init__(self) -> None:
        self._bar: Any = None  # rich.progress.Progress, imported only when a bar is shown
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from rich.progress import Progress

            self._bar = Progress(console=err_console(), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("Reading sessions", total=total)
        self._bar.update(self._task, completed=done + 1, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)
