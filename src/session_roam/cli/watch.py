"""`roam watch`: merge Syncthing conflict copies on their own, and run that at login."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag, SyncthingHome
from session_roam.cli.output import console, emit_json, err_console
from session_roam.engine.core import LinkRefused, claude_config_dir, projects_dir
from session_roam.engine.setup import (
    ServiceChange,
    install_service,
    uninstall_service,
    unit_claude_dir,
)
from session_roam.errors import RoamError, SetupError, SyncthingConfigMissing

if TYPE_CHECKING:
    from session_roam.engine.conflicts import WatchEvent

__all__ = ["register", "watch_app"]

watch_app = typer.Typer(
    help=(
        "Merge conflict copies of sessions as they appear, never while a lease holds one.\n\n"
        "`roam watch` runs in the foreground; `roam watch install` runs it at login."
    ),
)

NoStart = Annotated[
    bool, typer.Option("--no-start", help="Only write the file; do not enable or start it.")
]


@watch_app.callback(invoke_without_command=True)
def watch_command(
    ctx: typer.Context,
    syncthing_home: SyncthingHome = None,
    debounce: Annotated[
        float,
        typer.Option(
            "--debounce", min=0.0, help="Seconds of quiet before a session is merged (0 or more)."
        ),
    ] = 1.0,
) -> None:
    """Watch the sessions folder and merge each new conflict copy within seconds.

    A session whose lease is live (someone is writing it) is left alone until it is released.
    While it runs, it also serves `roam cr` from a process that has loaded roam already
    (ROAM_CR_SERVER=0 turns that off). Stop with Ctrl-C or SIGTERM. Example:

        roam watch --verbose
    """
    if ctx.invoked_subcommand is not None:
        return
    # lazily: the lease and watchdog machinery is only needed here, not by every roam command
    from session_roam.cli.crsupervise import cr_server_running
    from session_roam.engine import lease
    from session_roam.engine.claude import deletion_policy
    from session_roam.engine.conflicts import Watcher, beat, stop_beating
    from session_roam.engine.deletions import heal
    from session_roam.engine.lease import SyncthingTransport
    from session_roam.engine.syncthing import (
        claude_version,
        connect_local,
        find_roam_folder,
        publish,
    )

    settings = settings_of(ctx)
    projects = projects_dir(claude_config_dir(settings.claude_dir))
    with connect_local(syncthing_home) as local:
        folder = find_roam_folder(local.client, projects)
        if folder is None:
            raise SyncthingConfigMissing(f"Syncthing does not share {projects}.")
        engine = lease.engine_for(SyncthingTransport(local.client, projects, folder.id))
        status = local.client.system_status()
        names = {d.device_id: d.name for d in local.client.devices()}
        try:
            publish(
                projects,
                device_id=status.my_id,
                name=names.get(status.my_id, ""),
                syncthing_version=str(local.version),
                claude=claude_version(),
                folder_devices=folder.device_ids,
                policy=deletion_policy(folder.raw, projects.parent),
            )
        except LinkRefused as exc:  # a peer's planted link must not stop merging and healing
            err_console().print(f"warning: {exc.message}", markup=False)

        def is_live(session: str) -> bool:
            try:
                return lease.is_live(session, engine=engine)
            except RoamError:
                return True  # cannot tell: never merge under a possible writer

        def report(event: WatchEvent) -> None:
            err_console().print(
                f"{event.action}: {event.session.session_id}: {event.detail}", markup=False
            )

        def heal_pass() -> None:
            try:
                healed = heal(projects, local.client, folder.id)
            except RoamError as exc:  # Syncthing busy or gone: the next rescan tries again
                err_console().print(f"heal: {exc.message}", markup=False)
                return
            for session in healed.removed:
                err_console().print(f"removed: {session}: roam rm tombstone", markup=False)
            for relpath in healed.reannounced:
                err_console().print(f"re-announced: {relpath}: deleted elsewhere", markup=False)

        def heartbeat() -> None:
            try:
                beat(projects, status.my_id)
            except (RoamError, OSError) as exc:  # a missed beat only makes peers say "stopped"
                err_console().print(f"heartbeat: {exc}", markup=False)

        watcher = Watcher(
            projects,
            is_live=is_live,
            debounce_s=debounce,
            on_event=report,
            on_rescan=heal_pass,
            on_beat=heartbeat,
        )
        previous = signal.signal(signal.SIGTERM, lambda *_: watcher.stop())
        err_console().print(f"Watching {projects} for conflict copies.", markup=False)

        def say(line: str) -> None:
            err_console().print(line, markup=False)

        try:
            # the cr server serves `roam cr` while this runs (cli.crsupervise)
            with contextlib.suppress(KeyboardInterrupt), cr_server_running(say):
                watcher.run()
        finally:
            signal.signal(signal.SIGTERM, previous)
            stop_beating(projects, status.my_id)


def _report(ctx: typer.Context, change: ServiceChange, json_flag: bool, verb: str) -> None:
    if change.activation_failed:  # one error (one JSON document), never "installed" and exit 0
        raise SetupError(
            f"{change.path} is {verb}, but the service manager refused: {change.activated}.",
            hint="Fix what it says and run the command again, or pass --no-start and start it "
            "yourself.",
        )
    if settings_of(ctx).wants_json(json_flag):
        emit_json(
            {
                "schema": "roam.watch.service/1",
                "platform": change.platform,
                "path": str(change.path),
                "changed": change.changed,
                "activated": change.activated,
            }
        )
        return
    state = verb if change.changed else "already " + verb
    console().print(f"{change.path}: {state}.", markup=False)
    if change.activated:
        console().print(change.activated, markup=False)


@watch_app.command("install")
def install_command(
    ctx: typer.Context, no_start: NoStart = False, json_flag: JsonFlag = False
) -> None:
    """Run `roam watch` at login: a systemd user unit on Linux, a launchd agent on macOS.

    Writes roam's file even over one you edited (`roam setup` leaves an edited one alone).

    Example:

        roam watch install
    """
    home = Path.home()
    claude_dir = unit_claude_dir(claude_config_dir(settings_of(ctx).claude_dir), home)
    change = install_service(home, activate=not no_start, claude_dir=claude_dir)
    _report(ctx, change, json_flag, "installed")


@watch_app.command("uninstall")
def uninstall_command(
    ctx: typer.Context, no_start: NoStart = False, json_flag: JsonFlag = False
) -> None:
    """Stop running `roam watch` at login and remove its unit or agent; a later `roam setup`
    leaves it out (until `roam watch install` or `roam setup --watch`).

    Example:

        roam watch uninstall
    """
    change = uninstall_service(Path.home(), activate=not no_start, remember=True)
    _report(ctx, change, json_flag, "removed")


def register(app: typer.Typer) -> None:
    app.add_typer(watch_app, name="watch")
