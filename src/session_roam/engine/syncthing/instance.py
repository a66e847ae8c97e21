"""Which Syncthing answers at a home's address, and whether that home's ports are free.

Another Syncthing on the host (another user's, on 127.0.0.1:8384) answers a config that names
the same address: its REST API refuses this home's key (403), or, with a copied key, reports
another device ID. ``probe_instance`` tells "this home's node", "nothing" and "someone else's"
apart, so that roam never calls another person's node "running" and never talks to it.

``roam setup`` checks the GUI and sync ports a config names BEFORE starting it (and before a
new config is first written): a taken default is replaced by a free port; a taken port the user
asked for is refused with the flag to pass. A config roam generated but never started carries
``UNSTARTED_MARK`` next to it, so a re-run knows it may rewrite those ports.
"""

from __future__ import annotations

import enum
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import device_id_from_cert, harden_config, read_config
from session_roam.errors import (
    ApiKeyRejected,
    InvalidInput,
    SetupError,
    SyncthingConfigMissing,
    SyncthingError,
    SyncthingUnreachable,
)

if TYPE_CHECKING:
    from session_roam.engine.syncthing.config import StConfig

__all__ = [
    "UNSTARTED_MARK",
    "Answer",
    "PortPlan",
    "clear_unstarted",
    "foreign_error",
    "is_unstarted",
    "mark_unstarted",
    "plan_ports",
    "port_taken",
    "prepare_ports",
    "probe_instance",
    "refuse_second_instance",
    "serving_pid",
]

#: Next to config.xml while roam's generated config has never been started.
UNSTARTED_MARK: Final = "roam-unstarted"
DEFAULT_GUI_PORT: Final = 8384
DEFAULT_SYNC_PORT: Final = 22000
_SEARCH: Final = 200  # ports tried above a taken default
_PROBE_TIMEOUT_S: Final = 3.0


class Answer(enum.Enum):
    """What answers at a home's GUI/REST address."""

    OURS = "ours"
    NOTHING = "not running"
    FOREIGN = "another Syncthing"


def probe_instance(config: StConfig, *, timeout_s: float = _PROBE_TIMEOUT_S) -> Answer:
    """OURS when the node there accepts this home's key and has this home's device ID.

    A refused key is FOREIGN unless the key did not come from the home's own config (an
    explicit key or STGUIAPIKEY can simply be wrong; ``read_config`` took it, not the file):
    callers that override the key get ApiKeyRejected raised instead, with its own hint.
    """
    with SyncthingClient(config.base_url, config.api_key, timeout=timeout_s) as client:
        try:
            answered = client.my_id()
        except SyncthingUnreachable:
            return Answer.NOTHING
        except ApiKeyRejected:
            if _key_overridden(config):
                raise
            return Answer.FOREIGN
        except SyncthingError:  # answers, but not as Syncthing's REST API does
            return Answer.FOREIGN
    try:
        expected = device_id_from_cert(config.home)
    except SyncthingConfigMissing:  # no cert to compare with: the key was accepted
        return Answer.OURS
    return Answer.OURS if answered == str(expected) else Answer.FOREIGN


def _key_overridden(config: StConfig) -> bool:
    try:
        return _file_key(config.home) != config.api_key
    except OSError:
        return True


def _file_key(home: Path) -> str:
    text = (home / "config.xml").read_text(encoding="utf-8", errors="replace")
    found = re.search(r"<apikey>([^<]*)</apikey>", text)
    return found.group(1).strip() if found else ""


def serving_pid(home: Path, *, is_default: bool) -> int | None:
    """A running Syncthing process of this user that serves ``home``, by its command line
    (``--home=H``, ``--home H``, or no ``--home`` at all for Syncthing's default home)."""
    wanted = str(home)
    for pid, argv in _syncthing_processes():
        homes = [a.split("=", 1)[1] for a in argv if a.startswith(("--home=", "-home="))]
        homes += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--home", "-home")]
        if wanted in homes or (not homes and is_default and "serve" in argv[1:2]):
            return pid
    return None


def refuse_second_instance(config: StConfig, *, is_default: bool) -> None:
    """SetupError when a Syncthing process already serves this home without answering at its
    config's address: starting another would fight it for the home's database and ports."""
    pid = serving_pid(config.home, is_default=is_default)
    if pid is not None:
        raise SetupError(
            f"A Syncthing (pid {pid}) already serves {config.home} but does not answer at "
            f"{config.base_url}; roam never starts a second one on the same home.",
            hint="Stop that Syncthing, or start it with the GUI address in its config.xml, "
            "then run `roam setup` again.",
        )


def _syncthing_processes() -> list[tuple[int, list[str]]]:
    found: list[tuple[int, list[str]]] = []
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid != os.getuid():
                    continue
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if argv and "syncthing" in Path(argv[0]).name:
                found.append((int(entry.name), [a for a in argv if a]))
        return found
    from session_roam.engine.syncthing.hostfacts import run_tool  # not on roam cr's path

    listed = run_tool(["ps", "-U", str(os.getuid()), "-o", "pid=,command="]) or ""
    for line in listed.splitlines():  # no /proc (macOS): ps lists this user's processes
        pid, _, command = line.strip().partition(" ")
        argv = command.split()
        if pid.isdigit() and argv and "syncthing" in Path(argv[0]).name:
            found.append((int(pid), argv))
    return found


def foreign_error(config: StConfig) -> SyncthingUnreachable:
    """The one sentence for "the Syncthing at this address is not this home's"."""
    return SyncthingUnreachable(
        f"The Syncthing answering at {config.base_url} is not the one in {config.home} "
        "(it refuses that home's API key or has another device ID): another user's or "
        "another Syncthing on the same port.",
        hint="Give this home its own ports: `roam setup --gui-address 127.0.0.1:PORT "
        "--listen tcp://0.0.0.0:PORT` (free ports), then run the command again.",
    )


def mark_unstarted(home: Path) -> None:
    path = home / UNSTARTED_MARK
    path.write_text("roam generated this config and has not started it yet\n")
    path.chmod(0o600)


def is_unstarted(home: Path) -> bool:
    return (home / UNSTARTED_MARK).is_file()


def clear_unstarted(home: Path) -> None:
    (home / UNSTARTED_MARK).unlink(missing_ok=True)


def port_taken(host: str, port: int) -> bool:
    """Whether a TCP listener already holds ``host:port`` (a bind test; nothing is sent)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "taken"
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _host_port(address: str, default_port: int) -> tuple[str, int] | None:
    """``(host, port)`` of a GUI address or a tcp:// listen address; None for others."""
    if address == "default":
        return "0.0.0.0", default_port  # noqa: S104 - Syncthing's own default bind
    match = re.match(r"^(?:(?:tcp[46]?|https?)://)?\[?([^\]/]*?)\]?:(\d+)/?$", address)
    if match is None:
        return None
    host = match.group(1) or "0.0.0.0"  # noqa: S104 - an empty host is Syncthing's wildcard
    return host, int(match.group(2))


def _free_port(host: str, start: int) -> int | None:
    for port in range(start + 1, start + 1 + _SEARCH):
        if not port_taken(host, port):
            return port
    return None


@dataclass(frozen=True, slots=True)
class PortPlan:
    """The GUI and listen addresses to write (None: leave the config's) and what changed."""

    gui_address: str | None
    listen_address: str | None
    notes: tuple[str, ...] = ()


def plan_ports(
    config: StConfig, *, gui_flag: str | None, listen_flag: str | None, may_move: bool
) -> PortPlan:
    """Check the GUI and sync ports this node will bind, before it starts.

    Flags win. A taken port that came from a flag is refused (InvalidInput: pick another). A
    taken port from the config is moved to a free one when ``may_move`` (roam wrote the config
    and never started it), else refused naming the flag that moves it.
    """
    gui = gui_flag or config.gui_address
    listen = [listen_flag] if listen_flag else list(config.listen_addresses) or ["default"]
    notes: list[str] = []
    new_gui = _checked(gui, DEFAULT_GUI_PORT, "--gui-address", gui_flag is not None, may_move)
    if new_gui != gui:
        notes.append(f"GUI address {gui} is taken by another program; using {new_gui}")
    new_listen: str | None = listen_flag
    for address in listen:
        moved = _checked(address, DEFAULT_SYNC_PORT, "--listen", listen_flag is not None, may_move)
        if moved != address:
            new_listen = f"tcp://{moved}"
            what = (
                f"port {DEFAULT_SYNC_PORT} (Syncthing's default)"
                if address == "default"
                else address
            )
            notes.append(f"sync {what} is taken by another program; using {moved}")
    changed_gui = gui_flag if new_gui == gui else new_gui
    return PortPlan(changed_gui, new_listen, tuple(notes))


def _checked(address: str, default_port: int, flag: str, from_flag: bool, may_move: bool) -> str:
    parsed = _host_port(address, default_port)
    if parsed is None:
        return address
    host, port = parsed
    if not port_taken(host, port):
        return address
    free = _free_port(host, port)
    shown = f"[{host}]" if ":" in host else host
    suggestion = f"{flag} {'tcp://' if flag == '--listen' else ''}{shown}:{free or 'PORT'}"
    if from_flag or not may_move or free is None:
        raise InvalidInput(
            f"Port {port} of {address} is already taken by another program on this machine "
            "(another Syncthing?), so Syncthing here cannot listen on it.",
            hint=f"Pass a free port: roam setup {suggestion} (with Syncthing stopped).",
        )
    return f"{shown}:{free}"


def prepare_ports(
    config: StConfig,
    *,
    gui_flag: str | None,
    listen_flag: str | None,
    no_discovery: bool,
    api_key: str | None,
) -> tuple[StConfig, list[str]]:
    """Before a node that is not running starts: free GUI and sync ports (``plan_ports``) and
    the flags written into its config. A config roam generated and never started is roam's to
    fix (``may_move``); the config as re-read, and notes of what moved."""
    home = config.home
    ports = plan_ports(
        config, gui_flag=gui_flag, listen_flag=listen_flag, may_move=is_unstarted(home)
    )
    if ports.gui_address or ports.listen_address or no_discovery:
        harden_config(
            home,
            gui_address=ports.gui_address,
            listen_address=ports.listen_address,
            no_discovery=no_discovery,
        )
        config = read_config(home, api_key=api_key)
    return config, list(ports.notes)
