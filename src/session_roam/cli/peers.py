"""`roam peers add|remove|list`: the machines this one shares sessions with."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.output import console, emit_json
from session_roam.cli.sync import print_rows
from session_roam.engine.deviceid import parse_device_id
from session_roam.engine.local import connect_local
from session_roam.engine.paths import claude_config_dir, projects_dir
from session_roam.engine.peers import (
    PeerChange,
    add_peer,
    list_peers,
    remove_peer,
    validate_address,
)

__all__ = ["peers_app", "register"]

peers_app = typer.Typer(
    no_args_is_help=True,
    help=(
        "The machines this one shares sessions with.\n\n"
        "Pairing is mutual: add this machine's ID on the other machine too "
        "(`roam status` shows it)."
    ),
)

SyncthingHome = Annotated[
    Path | None,
    typer.Option(
        "--syncthing-home",
        envvar="ROAM_SYNCTHING_HOME",
        help="Syncthing's config folder (default: the one Syncthing itself uses).",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _projects(ctx: typer.Context) -> Path:
    return projects_dir(claude_config_dir(settings_of(ctx).claude_dir))


def _report(ctx: typer.Context, change: PeerChange, json_flag: bool) -> None:
    if settings_of(ctx).wants_json(json_flag):
        emit_json({"schema": "roam.peers.change/1", **asdict(change)})
        return
    console().print(f"{change.name} ({change.device_id}): {change.action}", markup=False)
    if change.action == "added":
        console().print(f"On that machine, run: roam peers add {change.my_id}", markup=False)


@peers_app.command("add")
def add_command(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Argument(help="The other machine's device ID.")],
    name: Annotated[str | None, typer.Option("--name", help="A name to show for it.")] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Where to reach it, tcp://HOST:PORT.")
    ] = None,
    syncthing_home: SyncthingHome = None,
    json_flag: JsonFlag = False,
) -> None:
    """Pair with another machine and share the sessions folder with it.

    Without --address Syncthing finds the machine through discovery. Example:

        roam peers add ABCDEF1-... --name laptop --address tcp://laptop.local:22000
    """
    device = parse_device_id(device_id).canonical  # a typo fails before Syncthing is needed
    if address is not None:
        validate_address(address)
    with connect_local(syncthing_home) as local:
        change = add_peer(local, _projects(ctx), device, name=name, address=address)
    _report(ctx, change, json_flag)


@peers_app.command("remove")
def remove_command(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Argument(help="The device ID to forget.")],
    syncthing_home: SyncthingHome = None,
    json_flag: JsonFlag = False,
) -> None:
    """Stop syncing with a machine (its copies of your sessions stay where they are).

    Example:

        roam peers remove ABCDEF1-...
    """
    device = parse_device_id(device_id).canonical
    with connect_local(syncthing_home) as local:
        change = remove_peer(local, device)
    _report(ctx, change, json_flag)


@peers_app.command("list")
def list_command(
    ctx: typer.Context,
    syncthing_home: SyncthingHome = None,
    json_flag: JsonFlag = False,
) -> None:
    """List paired machines, whether they are connected and share the sessions folder.

    Example:

        roam peers list --json
    """
    with connect_local(syncthing_home) as local:
        peers = list_peers(local, _projects(ctx))
    if settings_of(ctx).wants_json(json_flag):
        emit_json({"schema": "roam.peers.list/1", "peers": [asdict(p) for p in peers]})
        return
    out = console()
    if not peers:
        out.print(
            "No peers yet: run `roam peers add ID` with the other machine's ID.", markup=False
        )
        return
    rows = [
        (
            peer.name,
            peer.device_id,
            "paused" if peer.paused else ("yes" if peer.connected else "no"),
            "yes" if peer.shares_folder else "no",
            ", ".join(peer.addresses),
        )
        for peer in peers
    ]
    print_rows(out, ("name", "device", "connected", "shares folder", "addresses"), rows)


def register(app: typer.Typer) -> None:
    app.add_typer(peers_app, name="peers")
