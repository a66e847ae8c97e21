"""`roam demo`: see session-roam work on a throwaway loopback cluster, nothing to configure."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.text import Text

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json
from session_roam.engine.demo import DemoSummary, run_demo
from session_roam.engine.setup import require_syncthing
from session_roam.errors import MergeError, RoamError, SyncthingError, SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Generator

    from session_roam.engine.demo import DemoEvent

__all__ = ["register"]

_INTRO: Final = (
    "Syncthing copies a folder between your machines directly, with no server in between; "
    "roam uses it to carry ~/.claude/projects. This demo runs three Syncthing copies on this "
    "machine only (alpha, beta, gamma), as if they were three computers."
)
_NEXT: Final = "Next: `roam setup` sets this machine up for real (then run it on your other one)."


def _for_a_newcomer(error: RoamError, kept: str | None) -> RoamError:
    """The demo's own failures in words for someone who has never used Syncthing."""
    where = f" Its folder is kept in {kept}." if kept else ""
    what = (
        "did not pass the session between them in time"
        if isinstance(error, SyncTimeout)
        else "ran into a problem"
    )
    return type(error)(
        f"The demo did not finish: its three Syncthing copies on this machine {what} "
        f"({error.message}).{where}",
        hint="A very busy machine can do this; run `roam demo` again. If it fails again, run "
        "`roam -v demo --keep` and report what it prints.",
    )


def demo(
    ctx: typer.Context,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Keep the temporary cluster folder and print where it is."),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Watch a session travel between three real Syncthing nodes on this machine.

    Starts three Syncthing nodes on 127.0.0.1 in a temporary folder (no discovery, relays, NAT
    or upgrades; nothing leaves this machine), writes a Claude Code session on one, times its
    arrival on the others, lets two of them continue it while cut off so that Syncthing makes a
    conflict copy, and merges that copy back into one timeline. Your own ~/.claude is never
    touched, and every node is stopped at the end.

    Example: roam demo
    """
    settings = settings_of(ctx)
    as_json = settings.wants_json(json_output)
    require_syncthing()  # missing or refused: say how to get it, before anything starts
    summary = DemoSummary()
    out = console()
    if not as_json:
        out.print(_INTRO)
    try:
        _show(run_demo(keep=keep, summary=summary), as_json=as_json)
    except (SyncthingError, MergeError) as error:
        raise _for_a_newcomer(error, summary.figures.get("kept")) from None
    kept = summary.figures.get("kept")
    if as_json:
        emit_json({"schema": "roam.demo/1", "figures": summary.figures})
        return
    out.print(Text("Done.", style="bold") + Text(" Nothing is left running."))
    if kept:
        out.print(
            f"The demo's folder is kept in {kept} (one HOME per machine: alpha, beta, gamma)."
        )
    out.print(_NEXT)


def _show(steps: Generator[DemoEvent, None, None], *, as_json: bool) -> None:
    out = console()
    with contextlib.closing(steps) as events:
        status = None
        try:
            for event in events:
                if as_json:
                    continue
                if event.kind == "start":
                    status = out.status(event.title + " ...")
                    status.start()
                    continue
                if status is not None:
                    status.stop()
                    status = None
                out.print(
                    Text("✓ ", style="green")
                    + Text(event.title)
                    + Text(f" ({event.seconds:.2f} s)", style="dim")
                )
                if event.detail:
                    out.print(f"    {event.detail}")
        finally:
            if status is not None:
                status.stop()


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
