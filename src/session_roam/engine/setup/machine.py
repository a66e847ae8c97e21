"""``roam setup``: make this machine's Syncthing carry ~/.claude/projects, idempotently.

Order matters and each step is safe to repeat: find or generate the config (a new one is
hardened BEFORE its first start when asked), start Syncthing if it is not running (systemd user
unit where that works, else a background process), install ``.stignore`` before the folder's
first scan, pair peers BEFORE sharing the folder with them, and change only what differs - a
second run with the same arguments leaves Syncthing's config byte for byte as it was.

An always-on node (``--always-on``, see ``engine.setup_always_on``) is added last, once the
folder exists, through ``engine.untrusted.add_untrusted_peer``: it is never listed in the folder
without its encryption password, so it never receives a plain-text byte. Its password file is
read before Syncthing is touched (a bad file fails fast, nothing half done), and the result
names the node, never the password.

Last, when asked (``watch``: the CLI asks unless ``--no-watch``; other callers never), the
``roam watch`` login service is installed and started (``engine.setup.watch_setup``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.claude.cleanup import ensure_safe_cleanup
from session_roam.engine.core.atomic import make_private_dirs
from session_roam.engine.deletions.repair import needs_repair, repair_folder
from session_roam.engine.deletions.restore import heal
from session_roam.engine.setup.always_on import AlwaysOnNode, check_always_on, ensure_always_on
from session_roam.engine.setup.pairing import Pairing, pairing_state, publish_self
from session_roam.engine.setup.watch_setup import WatchSetup, ensure_watch, watch_skipped
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import (
    CONFIG_NAME,
    StConfig,
    default_home,
    generate_config,
    gui_is_loopback,
    harden_config,
    locate_syncthing_home,
    read_config,
)
from session_roam.engine.syncthing.deviceid import parse_device_id
from session_roam.engine.syncthing.folder import (
    DEFAULT_FOLDER_ID,
    folder_body,
    folder_drift,
    protect_folder_marker,
)
from session_roam.engine.syncthing.home import record_syncthing_home
from session_roam.engine.syncthing.ignore import install_stignore
from session_roam.engine.syncthing.instance import (
    Answer,
    clear_unstarted,
    foreign_error,
    mark_unstarted,
    plan_ports,
    prepare_ports,
    probe_instance,
    refuse_second_instance,
)
from session_roam.engine.syncthing.local import LocalSyncthing, find_roam_folder, same_path
from session_roam.engine.syncthing.node import find_syncthing_binary
from session_roam.engine.syncthing.peers import ensure_peer, share_folder_with, validate_address
from session_roam.engine.syncthing.service import describe_instance, start_syncthing
from session_roam.errors import InvalidInput, SetupError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from session_roam.engine.syncthing.untrusted import EncryptionPassword

__all__ = ["NO_DISCOVERY_OPTIONS", "SetupRequest", "SetupResult", "run_setup"]

#: The REST spelling of the options ``harden_config`` sets in XML.
NO_DISCOVERY_OPTIONS: Final[dict[str, Any]] = {
    "globalAnnounceEnabled": False,
    "localAnnounceEnabled": False,
    "relaysEnabled": False,
    "natEnabled": False,
    "urAccepted": -1,
    "crashReportingEnabled": False,
    "autoUpgradeIntervalH": 0,
    "startBrowser": False,
    "announceLANAddresses": False,
}
_READY_TIMEOUT_S: Final = 30.0
DEFAULT_GUI: Final = "127.0.0.1:8384"


@dataclass(frozen=True, slots=True)
class SetupRequest:
    projects_dir: Path
    device_ids: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    listen_address: str | None = None
    gui_address: str | None = None
    no_discovery: bool = False
    syncthing_home: Path | None = None
    folder_id: str | None = None
    allow_remote_gui: bool = False
    api_key: str | None = field(default=None, repr=False)
    always_on: str | None = None
    password_file: Path | None = None
    always_on_address: str | None = None
    always_on_name: str | None = None
    #: Install and start the `roam watch` login service (off by default: tests, scripts).
    watch: bool = False
    #: Also when the person removed it or edited its file (`roam setup --watch`).
    force_watch: bool = False


@dataclass(frozen=True, slots=True)
class SetupResult:
    device_id: str
    folder_id: str
    folder_path: str
    syncthing_home: str
    gui_url: str
    started: str
    changes: tuple[str, ...]
    peers: tuple[str, ...]
    stignore: str
    warnings: tuple[str, ...]
    next_step: str
    always_on: AlwaysOnNode | None = None
    #: This machine's pairing after setup: real listen addresses, peers, who is knocking.
    pairing: Pairing | None = None
    watch: WatchSetup = field(default_factory=watch_skipped)


def _check_request(request: SetupRequest) -> EncryptionPassword | None:
    home = request.syncthing_home
    if home is not None and home.exists() and not home.is_dir():
        raise InvalidInput(
            f"--syncthing-home {home} is a file; it must be Syncthing's config folder.",
            hint="Pass the folder that holds config.xml (or one to create), not a file in it.",
        )
    if request.addresses and not request.device_ids:
        raise InvalidInput(
            "--address says where to reach a machine named by --device-id; none was given.",
            hint="Example: roam setup --device-id ID1 --address tcp://10.0.0.2:22000",
        )
    if request.addresses and len(request.addresses) not in (1, len(request.device_ids)):
        raise InvalidInput(
            "Give one --address per --device-id (in the same order), or a single one.",
            hint="Example: roam setup --device-id ID1 --address tcp://10.0.0.2:22000",
        )
    for device in request.device_ids:
        parse_device_id(device)
    for address in request.addresses:
        validate_address(address)
    if request.listen_address is not None:
        validate_address(request.listen_address)
    gui = request.gui_address
    if gui is not None and not request.allow_remote_gui and not gui_is_loopback(gui):
        raise InvalidInput(
            f"--gui-address {gui} would open Syncthing's API to the network.",
            hint="Use 127.0.0.1:PORT, or add --allow-remote-gui if you really mean it.",
        )
    return check_always_on(
        request.always_on,
        request.password_file,
        address=request.always_on_address,
        name=request.always_on_name,
        plain_ids=request.device_ids,
    )


def _start(binary: str, home: Path, explicit_home: bool, warnings: list[str]) -> str:
    started = start_syncthing(binary, home, use_systemd=not explicit_home, enable=True)
    warnings += [started.note] if started.note else []
    return started.how


def _apply_options(client: SyncthingClient, request: SetupRequest) -> list[str]:
    wanted: dict[str, Any] = dict(NO_DISCOVERY_OPTIONS) if request.no_discovery else {}
    if request.listen_address is not None:
        wanted["listenAddresses"] = [request.listen_address]
    current = client.options()
    changes = {k: v for k, v in wanted.items() if current.get(k) != v}
    if changes:
        client.patch_options(changes)
    return [f"option {k}" for k in sorted(changes)]


def run_setup(request: SetupRequest) -> SetupResult:
    """Do everything ``roam setup`` promises; see the module docstring for the order."""
    password = _check_request(request)
    binary = find_syncthing_binary()
    changes: list[str] = []
    warnings: list[str] = []
    home = request.syncthing_home
    # Syncthing's systemd unit serves only its default home; any other is started by roam.
    systemd_home = home is None
    if home is None:
        located = locate_syncthing_home()
        home = located.path if located is not None else default_home(binary)
        systemd_home = located is None or located.is_default
    fresh = not (home / CONFIG_NAME).is_file()
    if fresh:
        # the ports are checked BEFORE anything is written: a taken one is never in a config
        ports = plan_ports(
            StConfig(home, DEFAULT_GUI, gui_tls=False, listen_addresses=(), api_key=""),
            gui_flag=request.gui_address,
            listen_flag=request.listen_address,
            may_move=True,
        )
        generate_config(binary, home)
        mark_unstarted(home)  # until it first runs, a re-run may rewrite what this wrote
        harden_config(
            home,
            gui_address=ports.gui_address or DEFAULT_GUI,
            listen_address=ports.listen_address,
            no_discovery=request.no_discovery,
        )
        warnings += ports.notes
        changes.append(f"generated a Syncthing config in {home}")
    config = read_config(home, api_key=request.api_key)
    if not config.gui_on_loopback and not request.allow_remote_gui:
        raise SetupError(
            f"Syncthing's GUI/API listens on {config.gui_address}, reachable from other machines.",
            hint="Set it to 127.0.0.1:8384 (roam setup --gui-address 127.0.0.1:8384 while "
            "Syncthing is stopped), or pass --allow-remote-gui.",
        )
    if probe_instance(config) is Answer.OURS:  # adopted as it runs: never a second instance
        started = f"already running ({describe_instance(home, config.gui_address)})"
    else:
        refuse_second_instance(config, is_default=systemd_home)
        config, notes = prepare_ports(
            config,
            gui_flag=request.gui_address,
            listen_flag=request.listen_address,
            no_discovery=request.no_discovery,
            api_key=request.api_key,
        )
        warnings += notes
        if probe_instance(config) is Answer.FOREIGN:
            raise foreign_error(config)
        started = _start(binary, home, not systemd_home, warnings)
        changes.append(f"started Syncthing as {started}")
    with SyncthingClient(config.base_url, config.api_key) as client:
        client.wait_until_ready(_READY_TIMEOUT_S)
        version = client.check_supported()
        clear_unstarted(home)
        changes += _apply_options(client, request)
        my_id = client.my_id()
        changes += _repair_first(client, request)
        changes += _safe_cleanup(request, warnings)
        make_private_dirs(request.projects_dir)
        protect_folder_marker(request.projects_dir)
        # before the folder exists, so that its very first scan already honours the rules
        ignore = install_stignore(request.projects_dir)
        folder_id, folder_changes, peers, created = _folder_and_peers(client, my_id, request)
        changes += folder_changes
        if ignore.action == "merged":
            warnings.append(
                f"{ignore.path} had its own rules; appended {len(ignore.added)} of roam's "
                "patterns at the end (your lines are untouched)."
            )
        if ignore.action != "unchanged":
            changes.append(f".stignore {ignore.action}")
            if not created:  # a new folder's first scan reads it anyway
                client.scan(folder_id)
        healed = heal(request.projects_dir, client, folder_id)
        if healed.reannounced:
            changes.append(
                f"gave back {len(healed.reannounced)} file(s) another machine had deleted"
            )
        always_on = None
        if request.always_on is not None and password is not None:
            local = LocalSyncthing(binary=binary, config=config, version=version, client=client)
            always_on, found = ensure_always_on(
                local,
                request.projects_dir,
                request.always_on,
                password,
                name=request.always_on_name,
                address=request.always_on_address,
                no_discovery=request.no_discovery,
            )
            warnings += found
            if always_on.action != "unchanged":
                changes.append(
                    f"always-on node {always_on.device_id[:7]} {always_on.action}, shared encrypted"
                )
        # at once, so that a peer's verify knows this machine before it ever runs verify here
        publish_self(client, request.projects_dir, str(version))
        pairing = pairing_state(client, request.projects_dir)
    warnings += _record_home(home)
    watch = (
        ensure_watch(Path.home(), request.projects_dir.parent, force=request.force_watch)
        if request.watch
        else None
    )
    warnings += [watch.warning] if watch is not None and watch.warning else []
    return SetupResult(
        device_id=my_id,
        folder_id=folder_id,
        folder_path=str(request.projects_dir),
        syncthing_home=str(home),
        gui_url=config.base_url,
        started=started,
        changes=tuple(changes),
        peers=tuple(peers),
        stignore=ignore.action,
        warnings=tuple(warnings),
        next_step=pairing.next_step,
        always_on=always_on,
        pairing=pairing,
        watch=watch or watch_skipped(),
    )


def _record_home(home: Path) -> list[str]:
    """Remember the home for every later command (``stconfig.locate_syncthing_home``)."""
    try:
        record_syncthing_home(home)
    except SetupError as exc:
        log.debug("could not record the Syncthing home", exc_info=True)
        return [f"{exc.message} {exc.hint}"]
    return []


def _safe_cleanup(request: SetupRequest, warnings: list[str]) -> list[str]:
    """Claude Code's start-up clean-up must not delete the archive a new machine receives."""
    try:
        cleanup = ensure_safe_cleanup(request.projects_dir.parent)
    except InvalidInput as exc:  # the user's settings.json is broken: say so, change nothing
        warnings.append(f"{exc.message} Set cleanupPeriodDays to 99999 there by hand.")
        return []
    if not cleanup.changed:
        return []
    return [
        f"Claude Code's cleanupPeriodDays {cleanup.before or 'unset (30)'} -> {cleanup.after} "
        f"in {cleanup.settings}, so its start-up clean-up deletes nothing"
    ]


def _repair_first(client: SyncthingClient, request: SetupRequest) -> list[str]:
    """A vanished folder comes back from the peers BEFORE its marker is recreated (repair.py)."""
    folder = find_roam_folder(client, request.projects_dir, request.folder_id)
    if folder is None or not needs_repair(client, folder.id, request.projects_dir):
        return []
    done = repair_folder(client, folder.id, request.projects_dir)
    return [
        f"folder {folder.id} was missing: brought {done.restored_files} file(s) back from the "
        f"peers in {done.seconds:.1f} s before sharing again"
    ]


def _folder_and_peers(
    client: SyncthingClient, my_id: str, request: SetupRequest
) -> tuple[str, list[str], list[str], bool]:
    """Peers first (a folder naming an unknown device drops it), then the folder."""
    changes: list[str] = []
    peers: list[str] = []
    addresses: Sequence[str | None] = request.addresses or [None] * len(request.device_ids)
    if len(addresses) == 1 and len(request.device_ids) > 1:
        addresses = [addresses[0]] * len(request.device_ids)
    for device, address in zip(request.device_ids, addresses, strict=True):
        change = ensure_peer(client, my_id, device, address=address)
        peers.append(change.device_id)
        if change.action != "unchanged":
            changes.append(f"peer {change.device_id[:7]} {change.action}")
    folder = find_roam_folder(client, request.projects_dir, request.folder_id)
    if (
        folder is not None
        and folder.id == request.folder_id
        and not same_path(folder.path, request.projects_dir)
    ):
        raise InvalidInput(
            f"Syncthing folder {folder.id!r} already shares {folder.path}, "
            f"not {request.projects_dir}.",
            hint="Pick another --folder-id, or point --claude-dir at that folder.",
        )
    if folder is None:
        folder_id = request.folder_id or DEFAULT_FOLDER_ID
        client.add_folder(folder_body(folder_id, str(request.projects_dir), [my_id, *peers]))
        shared = set(client.folder(folder_id).device_ids)
        if not set(peers) <= shared:
            raise SetupError(f"Syncthing did not share folder {folder_id!r} with every peer.")
        changes.append(f"folder {folder_id} created")
        return folder_id, changes, peers, True
    drift = folder_drift(folder.raw)
    if drift:
        client.patch_folder(folder.id, drift)
        changes.append(f"folder {folder.id}: " + ", ".join(sorted(drift)))
    if share_folder_with(client, folder.id, peers):
        changes.append(f"folder {folder.id} shared with new peers")
    return folder.id, changes, peers, False
