"""`roam setup` and `roam status`: make Syncthing carry ~/.claude/projects, and check on it.

JSON output (``--json``) is one document; its ``schema`` key names the shape and changes only
with a new version number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.table import Table

from session_roam.cli.context import Settings, settings_of
from session_roam.cli.options import JsonFlag, SyncthingHome
from session_roam.cli.output import console, emit_json, err_console, human_size, plain, print_tsv
from session_roam.cli.search import short_time
from session_roam.engine.core import claude_config_dir, projects_dir
from session_roam.engine.setup import (
    SetupPairing,
    SetupRequest,
    SetupResult,
    check_requirements,
    require_syncthing,
    run_setup,
)
from session_roam.engine.syncthing import accept_command, connect_local
from session_roam.engine.verify import LiveView, StatusReport, collect_live, collect_status

__all__ = ["print_rows", "register", "render_pairing", "setup_command", "status_command"]


def print_rows(out: Console, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A rich table on a terminal; plain tab-separated lines otherwise, never truncated, so a
    device ID printed into a pipe or a log is still whole."""
    if out.is_terminal:
        table = Table(*headers, box=None, pad_edge=False)
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    for row in (headers, *rows):
        print_tsv(out, row)


def _projects(settings: Settings) -> Path:
    return projects_dir(claude_config_dir(settings.claude_dir))


def setup_command(
    ctx: typer.Context,
    device_id: Annotated[
        list[str] | None,
        typer.Option("--device-id", help="Another machine's Syncthing device ID (repeatable)."),
    ] = None,
    address: Annotated[
        list[str] | None,
        typer.Option(
            "--address",
            help="Where to reach that machine, tcp://HOST:PORT (one per --device-id, in order).",
        ),
    ] = None,
    listen: Annotated[
        str | None,
        typer.Option("--listen", help="This machine's sync listen address, tcp://HOST:PORT."),
    ] = None,
    gui_address: Annotated[
        str | None,
        typer.Option("--gui-address", help="Syncthing GUI/API address for a new config."),
    ] = None,
    no_discovery: Annotated[
        bool,
        typer.Option(
            "--no-discovery",
            help="No global/local discovery, relays, NAT or usage reports: peers only at the "
            "addresses given.",
        ),
    ] = False,
    syncthing_home: SyncthingHome = None,
    folder_id: Annotated[
        str | None,
        typer.Option(
            "--folder-id",
            help="Syncthing folder id for a new folder (default claude-projects; an existing "
            "folder sharing the same path is reused whatever its id).",
        ),
    ] = None,
    allow_remote_gui: Annotated[
        bool,
        typer.Option("--allow-remote-gui", help="Accept a GUI/API reachable from the network."),
    ] = False,
    always_on: Annotated[
        str | None,
        typer.Option(
            "--always-on",
            help="Device ID of an always-on node (NAS, VPS) that keeps your sessions encrypted "
            "and cannot read them; needs --password-file.",
        ),
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="File (mode 600) holding the folder's encryption password for --always-on; "
            "the same on every machine. Never give the password itself.",
        ),
    ] = None,
    always_on_address: Annotated[
        str | None,
        typer.Option(
            "--always-on-address",
            help="Where to reach the always-on node, tcp://HOST:PORT.",
        ),
    ] = None,
    always_on_name: Annotated[
        str | None,
        typer.Option(
            "--always-on-name",
            help="A name to show for the always-on node (default for a new one: always-on).",
        ),
    ] = None,
    watch: Annotated[
        bool | None,
        typer.Option(
            "--watch/--no-watch",
            help="Install the `roam watch` login service even if you removed it or edited its "
            "file (default: install it unless you did) / do not install it (add it later with "
            "`roam watch install`).",
        ),
    ] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Make Syncthing share ~/.claude/projects with your other machines. Safe to run again.

    Starts Syncthing if needed, creates the shared folder (watcher delay 1 s, unlimited
    conflict copies), installs .stignore, pairs the machines you name, and runs `roam watch`
    at login (it merges conflict copies as they arrive and starts `roam cr` faster; --no-watch
    skips it; a service you removed or edited is left so, unless --watch). Run it on each
    machine with the other's device ID. Example:

        roam setup --device-id ABCDEF1-... --address tcp://laptop.local:22000

    An always-on node keeps sessions moving while your machines are off. It gets the folder
    encrypted, so it stores them without being able to read them. The password is read from a
    file only, so that it never shows in `ps` or your shell history (docs/always-on.md):

        roam setup --always-on NASID12-... --always-on-address tcp://nas:22000 \\
            --password-file ~/.config/session-roam/vault-password
    """
    settings = settings_of(ctx)
    found = check_requirements()
    require_syncthing(found)  # missing or refused: say how to get it, before any config
    result = run_setup(
        SetupRequest(
            projects_dir=_projects(settings),
            device_ids=tuple(device_id or ()),
            addresses=tuple(address or ()),
            listen_address=listen,
            gui_address=gui_address,
            no_discovery=no_discovery,
            syncthing_home=syncthing_home,
            folder_id=folder_id,
            allow_remote_gui=allow_remote_gui,
            always_on=always_on,
            password_file=password_file,
            always_on_address=always_on_address,
            always_on_name=always_on_name,
            watch=watch is not False,
            force_watch=watch is True,
        )
    )
    if settings.wants_json(json_flag):
        emit_json({"schema": "roam.setup/1", **asdict(result)})
        return
    _render_setup(result)
    if not found.claude.usable:
        err_console().print(
            f"warning: {found.claude.detail} Get it with: {found.claude.install}", markup=False
        )


def _render_setup(result: SetupResult) -> None:
    out = console()
    out.print(f"This machine's device ID: {result.device_id}", markup=False)
    out.print(f"Folder {result.folder_id} shares {result.folder_path}", markup=False)
    out.print(f"Syncthing: {result.started}; config in {result.syncthing_home}", markup=False)
    if result.changes:
        for change in result.changes:
            out.print(f"  changed: {change}", markup=False)
    else:
        out.print("Nothing to change: this machine was already set up.", markup=False)
    node = result.always_on
    if node is not None:
        out.print(
            f"Always-on node {node.name} ({node.device_id}): {node.action}, untrusted, "
            "shared encrypted (it stores your sessions but cannot read them).",
            markup=False,
        )
    out.print(result.watch.describe(), markup=False)
    for warning in result.warnings:
        err_console().print(f"warning: {warning}", markup=False)
    if result.pairing is not None:
        render_pairing(out, result.pairing)
    else:
        out.print(f"On the other machine, run:\n  {result.next_step}", markup=False)
    if node is not None:
        out.print(
            f"On the always-on node, add device {result.device_id} and accept folder "
            f"{result.folder_id} as 'Receive Encrypted' (no password there).",
            markup=False,
        )


def render_pairing(out: Console, pairing: SetupPairing) -> None:
    """Who is knocking (and the command that accepts each), whom this machine is paired with,
    and the line for the other machine only when a pairing is still to be made there."""
    for knock in pairing.pending:
        out.print(f"{knock.describe()}. To accept: {accept_command(knock.device_id)}", markup=False)
    for offer in pairing.offered:
        out.print(
            f"{offer.device_id[:7]} offers folder {offer.folder_id!r}"
            + (f" ({offer.label!r})" if offer.label else "")
            + " that this machine does not share with it.",
            markup=False,
        )
    linked = [p.name for p in pairing.paired if p.connected]
    if linked:
        out.print(f"Paired with {', '.join(linked)} (connected).", markup=False)
    waiting = [p.name for p in pairing.unconnected]
    if waiting:
        out.print(
            f"Paired here with {', '.join(waiting)}, not connected yet. If it has not added this "
            "machine, run there:",
            markup=False,
        )
    elif linked:
        out.print("To pair another machine, run there:", markup=False)
    else:
        out.print("On the other machine, run:", markup=False)
    out.print(f"  {pairing.next_step}", markup=False)


def status_command(
    ctx: typer.Context,
    syncthing_home: SyncthingHome = None,
    json_flag: JsonFlag = False,
) -> None:
    """Show whether sessions are syncing: Syncthing, peers, what they still need, conflicts.

    Check it before you walk to another machine: every peer should be connected and need
    nothing. Example:

        roam status
    """
    settings = settings_of(ctx)
    with connect_local(syncthing_home) as local:
        report = collect_status(local, _projects(settings))
        live = collect_live(
            local.client, _projects(settings), report.device_id, settings.claude_dir
        )
    if settings.wants_json(json_flag):
        emit_json({"schema": "roam.status/1", **report.to_json(), "live": live.to_json()})
        return
    _render_status(report)
    _render_live(live)


def _render_live(live: LiveView) -> None:
    """Where sessions are live now, and each peer's last sign of life (issue 17)."""
    out = console()
    for s in live.sessions:
        state = "claude running" if s.claude_running else "leased"
        wrote = (
            f"; last written {short_time(s.to_json()['last_written'])}" if s.last_written else ""
        )
        by = f" by {plain(s.last_writer)}" if s.last_writer and wrote else ""
        where = plain(s.lease_holder or "?")
        out.print(f"Live: session {s.session_id[:8]} on {where} ({state}){wrote}{by}", markup=False)
    for p in live.peers:
        seen = (
            "connected now"
            if p.connected
            else (
                f"last seen {short_time(p.to_json()['last_seen'])}" if p.last_seen else "never seen"
            )
        )
        watch = {
            True: "its roam watch runs",
            False: "its roam watch stopped",
            None: "no roam watch heard from",
        }[p.watch_running]
        out.print(f"Peer {plain(p.name or p.device_id[:7])}: {seen}; {watch}", markup=False)


_INDEX_STATES: Final = {
    "indexed": "received",
    "awaiting-index": "still arriving",
    "connecting": "not connected yet",
    "unreachable": "unreachable",
    "paused": "paused",
}


def _render_status(report: StatusReport) -> None:
    out = console()
    out.print(f"Syncthing {report.version} at {report.gui_url}", markup=False)
    named = f"{report.name} ({report.device_id})" if report.name else report.device_id
    out.print(f"This machine: {named}", markup=False)
    folder = report.folder
    if folder is not None:
        out.print(
            f"Folder {folder.id}: {folder.state}, {folder.local_files} files"
            + (f", {folder.errors} errors" if folder.errors else ""),
            markup=False,
        )
        if folder.last_change_file:
            out.print(
                f"Last change received: {folder.last_change_file} at {folder.last_change}",
                markup=False,
            )
    if report.peers:
        rows = []
        for peer in report.peers:
            state = "paused" if peer.paused else ("yes" if peer.connected else "no")
            needs = (
                "nothing"
                if peer.in_sync
                else f"{peer.need_items} items, {human_size(peer.need_bytes)}"
                + (f", {peer.need_deletes} deletes" if peer.need_deletes else "")
            )
            rows.append((peer.name, peer.device_id, state, needs))
        print_rows(out, ("peer", "device", "connected", "needs"), rows)
    if report.leases is not None:
        out.print(f"Leases: {report.leases.describe()}", markup=False)
    if report.cluster is not None and report.cluster.peers:
        heard = ", ".join(
            f"{p.label} {_INDEX_STATES.get(p.state, p.state)}" for p in report.cluster.peers
        )
        out.print(f"Peers' index since they connected: {heard}", markup=False)
    out.print(f"Conflict copies waiting: {report.conflicts}", markup=False)
    watch = report.watch_service.describe() if report.watch_service else report.watch
    out.print(f"roam watch (merges conflict copies on its own): {watch}", markup=False)
    if report.autostart is not None:
        fix = f"; to start it at login: {report.autostart.fix}" if report.autostart.fix else ""
        out.print(
            f"Syncthing in use: home {report.home}, kept running by: {report.autostart.kind}",
            markup=False,
        )
        out.print(f"Syncthing after a reboot: {report.autostart.how}{fix}", markup=False)
    for warning in report.warnings:
        err_console().print(f"warning: {warning}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("setup")(setup_command)
    app.command("status")(status_command)
