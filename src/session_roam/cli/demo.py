"""`roam demo`: see session-roam work on a throwaway loopback cluster, nothing to configure."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer
from rich.text import Text

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json
from session_roam.engine.demo import DemoSummary, run_demo
from session_roam.engine.syncthing import find_syncthing_binary

__all__ = ["register"]


def demo(
    ctx: typer.Context,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the temporary cluster folder to look around.")
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
    find_syncthing_binary()  # fail with the install hint before any output
    summary = DemoSummary()
    out = console()
    with contextlib.closing(run_demo(keep=keep, summary=summary)) as events:
        status = None
        for event in events:
            if as_json:
                continue
            if event.kind == "start":
                status = out.status(event.title + " ...")
                status.start()
                continue
            if status is not None:
                status.stop()
            out.print(
                Text("✓ ", style="green")
                + Text(event.title)
                + Text(f" ({event.seconds:.2f} s)", style="dim")
            )
            if event.detail:
                out.print(f"    {event.detail}")
    if as_json:
        emit_json({"schema": "roam.demo/1", "figures": summary.figures})
    else:
        out.print(Text("Done.", style="bold") + Text(" Nothing is left running."))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
