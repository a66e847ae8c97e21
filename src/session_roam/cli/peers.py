"""`roam peers add|accept|remove|list` and `roam pair`: the machines this one shares sessions
with, and pairing a new one."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag, SyncthingHome
from session_roam.cli.output import console, emit_json
from session_roam.cli.sync import print_rows, render_pairing
from session_roam.engine.core import claude_config_dir, projects_dir
from session_roam.engine.setup import pairing_state, publish_self
from session_roam.engine.syncthing import (
    PeerChange,
    accept_peer,
    add_peer,
    add_untrusted_peer,
    connect_local,
    list_peers,
    parse_device_id,
    read_password_file,
    remove_peer,
    validate_address,
)
from session_roam.errors import InvalidInput

__all__ = ["peers_app", "register"]

peers_app = typer.Typer(
    no_args_is_help=True,
    help=(
        "The machines this one shares sessions with.\n\n"
        "Pairing is mutual: add this machine's ID on the other machine too "
        "(`roam status` shows it)."
    ),
)


def _projects(ctx: typer.Context) -> Path:
    return projects_dir(claude_config_dir(settings_of(ctx).claude_dir))


def _report(
    ctx: typer.Context,
    change: PeerChange,
    json_flag: bool,
    *,
    untrusted: bool = False,
    accepted: bool = False,
) -> None:
    if settings_of(ctx).wants_json(json_flag):
        extra = {"untrusted": True} if untrusted else {}
        emit_json({"schema": "roam.peers.change/1", **asdict(change), **extra})
        return
    console().print(f"{change.name} ({change.device_id}): {change.action}", markup=False)
    if untrusted:
        console().print(
            "Shared encrypted: that node stores your sessions but cannot read them. On it, add "
            f"device {change.my_id} and accept the folder as 'receive encrypted'.",
            markup=False,
        )
    elif accepted:
        console().print(
            "It already named this machine, so the two connect on their own now.", markup=False
        )
    elif change.action == "added":
        console().print(f"On that machine, run: roam peers add {change.my_id}", markup=False)


@peers_app.command("add")
def add_command(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Argument(help="The other machine's device ID.")],
    name: Annotated[str | None, typer.Option("--name", help="A name to show for it.")] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Where to reach it, tcp://HOST:PORT.")
    ] = None,
    untrusted: Annotated[
        bool,
        typer.Option(
            "--untrusted",
            help="An always-on node (NAS, VPS) that stores sessions encrypted and cannot read "
            "them; needs --password-file.",
        ),
    ] = False,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="File (mode 600) holding the folder's encryption password; the same on every "
            "trusted machine.",
        ),
    ] = None,
    syncthing_home: SyncthingHome = None,
    json_flag: JsonFlag = False,
) -> None:
    """Pair with another machine and share the sessions folder with it.

    Without --address Syncthing finds the machine through discovery. Example:

        roam peers add ABCDEF1-... --name laptop --address tcp://laptop.local:22000

    An always-on node that should keep sessions while your machines are off, without being
    able to read them, is added with --untrusted; the password is read from a file so that it
    never shows on a command line:

        roam peers add ABCDEF1-... --name nas --untrusted --password-file ~/.roam-vault-pw
    """
    device = parse_device_id(device_id).canonical  # a typo fails before Syncthing is needed
    if address is not None:
        validate_address(address)
    if untrusted != (password_file is not None):
        raise InvalidInput(
            "--untrusted and --password-file go together.",
            hint="Add an always-on node with: roam peers add ID --untrusted --password-file FILE",
        )
    password = read_password_file(password_file) if password_file is not None else None
    with connect_local(syncthing_home) as local:
        if password is None:
            change = add_peer(local, _projects(ctx), device, name=name, address=address)
        else:
            change = add_untrusted_peer(
                local, _projects(ctx), device, password, name=name, address=address
            )
        publish_self(local.client, _projects(ctx), str(local.version))  # peers see the change
    _report(ctx, change, json_flag, untrusted=password is not None)


@peers_app.command("accept")
def accept_command(
    ctx: typer.Context,
    device_id: Annotated[
        str, typer.Argument(help="The device ID of the machine asking (`roam status` shows it).")
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="A name to show for it (default: its own).")
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Where to reach it, tcp://HOST:PORT.")
    ] = None,
    syncthing_home: SyncthingHome = None,
    json_flag: JsonFlag = False,
) -> None:
    """Accept a machine that asks to pair: add it and share the sessions folder with it.

    When another machine ran `roam setup --device-id` with this machine's ID, `roam status`
    and `roam verify` here name it as asking to pair, with this command. Example:

        roam peers accept ABCDEF1-...
    """
    device = parse_device_id(device_id).canonical
    if address is not None:
        validate_address(address)
    with connect_local(syncthing_home) as local:
        change = accept_peer(local, _projects(ctx), device, name=name, address=address)
        publish_self(local.client, _projects(ctx), str(local.version))
    _report(ctx, change, json_flag, accepted=True)


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
        publish_self(local.client, _projects(ctx), str(local.version))
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


def pair_command(
    ctx: typer.Context,
    syncthing_home: SyncthingHome = None,
    json_flag: JsonFlag = False,
) -> None:
    """Print the one line that pairs another machine with this one, and who asks to pair.

    Run the printed line on the other machine; then accept it here with the `roam peers
    accept` line this command (or `roam status`) prints. Example:

        roam pair
    """
    with connect_local(syncthing_home) as local:
        pairing = pairing_state(local.client, _projects(ctx))
    if settings_of(ctx).wants_json(json_flag):
        emit_json({"schema": "roam.pair/1", **asdict(pairing)})
        return
    out = console()
    out.print(f"This machine: {pairing.name} ({pairing.device_id})", markup=False)
    if pairing.listen_addresses:
        out.print(f"Reachable at: {', '.join(pairing.listen_addresses)}", markup=False)
    render_pairing(out, pairing)


def register(app: typer.Typer) -> None:
    app.add_typer(peers_app, name="peers")
    app.command("pair")(pair_command)
