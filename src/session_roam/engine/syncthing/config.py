"""Finding, reading, generating and hardening Syncthing's own ``config.xml``.

roam never asks for an API key: it reads the one Syncthing generated (or takes STGUIAPIKEY or an
explicit key). A freshly generated config is network-facing - global and local discovery,
relays, NAT, usage reports, upgrades - so ``harden_config`` rewrites it BEFORE the first start,
which is the only moment when editing it prevents the node from announcing itself.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from session_roam.engine.syncthing.deviceid import DeviceId, luhn_base32
from session_roam.engine.syncthing.home import recorded_syncthing_home
from session_roam.engine.syncthing.version import binary_version, generate_command
from session_roam.errors import SetupError, SyncthingConfigMissing

__all__ = [
    "CONFIG_NAME",
    "HOME_ENV",
    "FoundHome",
    "StConfig",
    "candidate_homes",
    "config_folders",
    "default_home",
    "device_id_from_cert",
    "find_syncthing_home",
    "generate_config",
    "gui_base_url",
    "gui_is_loopback",
    "harden_config",
    "is_default_home",
    "locate_syncthing_home",
    "read_config",
]

CONFIG_NAME: Final = "config.xml"
#: roam's own variable for Syncthing's home; the ``--syncthing-home`` options read it too.
HOME_ENV: Final = "ROAM_SYNCTHING_HOME"
_PATHS_TIMEOUT_S: Final = 10.0
_DEAD_URL: Final = "http://127.0.0.1:9/"  # discard port: nothing is ever sent anywhere real

#: Options that make a generated node talk to the outside world, and their loopback values.
_HARDENED_OPTIONS: Final[dict[str, str]] = {
    "globalAnnounceEnabled": "false",
    "localAnnounceEnabled": "false",
    "relaysEnabled": "false",
    "natEnabled": "false",
    "urAccepted": "-1",
    "crashReportingEnabled": "false",
    "autoUpgradeIntervalH": "0",
    "startBrowser": "false",
    "announceLANAddresses": "false",
    "stunKeepaliveStartS": "0",
    "stunKeepaliveMinS": "0",
    "urURL": _DEAD_URL,
    "crashReportingURL": _DEAD_URL,
    "releasesURL": _DEAD_URL,
}


@dataclass(frozen=True, slots=True)
class StConfig:
    """What roam needs from one Syncthing home. ``api_key`` is kept out of ``repr``."""

    home: Path
    gui_address: str
    gui_tls: bool
    listen_addresses: tuple[str, ...]
    api_key: str = field(repr=False)

    @property
    def base_url(self) -> str:
        return gui_base_url(self.gui_address, tls=self.gui_tls)

    @property
    def gui_on_loopback(self) -> bool:
        return gui_is_loopback(self.gui_address)


def _home_dir() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def candidate_homes() -> list[Path]:
    """Where Syncthing 1.x and 2.x keep their config by default, in the order they prefer it.

    Syncthing 1.27+ and 2.x keep using the legacy ``~/.config/syncthing`` when a config exists
    there, else ``$XDG_STATE_HOME/syncthing``; macOS uses Application Support. STHOMEDIR, when
    set, comes first: it is what a plain ``syncthing serve`` in this environment would use.
    """
    found: list[Path] = []
    if explicit := os.environ.get("STHOMEDIR"):
        found.append(Path(explicit))
    return found + _default_homes()


def _default_homes() -> list[Path]:
    home = _home_dir()
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    state_home = Path(os.environ.get("XDG_STATE_HOME") or home / ".local" / "state")
    found = [config_home / "syncthing", state_home / "syncthing"]
    if sys.platform == "darwin":
        found.append(home / "Library" / "Application Support" / "Syncthing")
    return found


def _home_from_binary(binary: str) -> Path | None:
    """Ask the installed syncthing where its config is (``--paths`` in 1.x, ``paths`` in 2.x)."""
    for argv in ([binary, "paths"], [binary, "--paths"]):
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=_PATHS_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        match = re.search(r"Configuration file:\s*\n\s*(\S.*)", done.stdout)
        if done.returncode == 0 and match:
            return Path(match.group(1).strip()).parent
    return None


@dataclass(frozen=True, slots=True)
class FoundHome:
    """A Syncthing home that holds ``config.xml``, and how roam learnt of it (``source``:
    ``--syncthing-home``, ``ROAM_SYNCTHING_HOME``, ``STHOMEDIR``, ``roam setup`` or
    ``Syncthing's default``)."""

    path: Path
    source: str

    @property
    def is_default(self) -> bool:
        """Whether a plain ``syncthing serve`` (its systemd unit, its launchd agent) uses it."""
        return self.source == _DEFAULT or is_default_home(self.path)


def is_default_home(path: Path) -> bool:
    """Whether ``path`` is one of the homes Syncthing uses when given none."""
    return path in _default_homes()


_DEFAULT: Final = "Syncthing's default"


def locate_syncthing_home(
    explicit: Path | None = None, *, binary: str | None = None
) -> FoundHome | None:
    """This machine's Syncthing home; None when there is none at all. The one resolver.

    Order: ``explicit`` (the ``--syncthing-home`` option), ``ROAM_SYNCTHING_HOME``,
    ``STHOMEDIR``, the home ``roam setup`` recorded, then Syncthing's own defaults (and, with
    ``binary``, wherever it says). A home roam was told about (the option, the variable, the
    record) that holds no ``config.xml`` is a SetupError, never a fall-through: falling through
    could find no Syncthing and let ``roam cr`` write without a lease on a machine set up for
    sync. STHOMEDIR is Syncthing's variable and may be set for other reasons, so it is only a
    candidate. The error is deliberately not SyncthingConfigMissing, which callers read as
    "this machine does not sync".
    """
    env = os.environ.get(HOME_ENV, "").strip()
    if explicit is not None:
        named = HOME_ENV if env and Path(env) == explicit else "--syncthing-home"
        return _holding_config(explicit, named)
    if env:
        return _holding_config(Path(env), HOME_ENV)
    sthomedir = os.environ.get("STHOMEDIR")
    if sthomedir and (Path(sthomedir) / CONFIG_NAME).is_file():
        return FoundHome(Path(sthomedir), "STHOMEDIR")
    recorded = recorded_syncthing_home()
    if recorded is not None:
        return _holding_config(recorded, "roam setup")
    for home in _default_homes():
        if (home / CONFIG_NAME).is_file():
            return FoundHome(home, _DEFAULT)
    asked = _home_from_binary(binary) if binary is not None else None
    if asked is not None and (asked / CONFIG_NAME).is_file():
        return FoundHome(asked, _DEFAULT)
    return None


def _holding_config(home: Path, source: str) -> FoundHome:
    if (home / CONFIG_NAME).is_file():
        return FoundHome(home, source)
    if source == "roam setup":
        raise SetupError(
            f"roam setup recorded Syncthing's home as {home}, but there is no config.xml there.",
            hint="Run `roam setup --syncthing-home DIR` with the folder that holds it now.",
        )
    raise SetupError(
        f"There is no Syncthing config.xml in {home} (given by {source}).",
        hint=f"Point {source} at the folder that holds Syncthing's config.xml, or run "
        f"`roam setup --syncthing-home {home}` to create one there.",
    )


def find_syncthing_home(explicit: Path | None = None, *, binary: str | None = None) -> Path:
    """``locate_syncthing_home``'s path; SyncthingConfigMissing when there is none."""
    found = locate_syncthing_home(explicit, binary=binary)
    if found is None:
        raise SyncthingConfigMissing("No Syncthing config.xml was found on this machine.")
    return found.path


def config_folders(home: Path) -> tuple[tuple[str, str], ...]:
    """The ``(id, path)`` of each folder ``config.xml`` shares, path as written (``~`` kept).

    Read from the file, so it works while Syncthing is not running: that is when ``roam cr``
    must decide whether this machine is set up for sync and its Syncthing must be started.
    """
    root = _parse(home / CONFIG_NAME).getroot()
    return tuple(
        (f.get("id", ""), f.get("path", "")) for f in root.findall("folder") if f.get("path")
    )


def gui_is_loopback(address: str) -> bool:
    """True when the GUI/REST address only accepts connections from this machine."""
    if address.startswith("unix"):
        return True
    host = _split_host(address)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_host(address: str) -> str:
    address = re.sub(r"^[a-z]+://", "", address)
    if address.startswith("["):
        return address[1 : address.index("]")]
    return address.rsplit(":", 1)[0] if ":" in address else address


def gui_base_url(address: str, *, tls: bool = False) -> str:
    """A URL to reach the GUI/REST listener; wildcard binds are reached on loopback."""
    if address.startswith("unix"):
        raise SetupError(
            f"Syncthing's GUI listens on a Unix socket ({address}), which roam cannot use.",
            hint="Set the GUI address to 127.0.0.1:8384 in Syncthing's settings.",
        )
    scheme = "https" if tls else "http"
    if match := re.match(r"^(https?)://", address):
        scheme, address = match.group(1), address[match.end() :]
    host = _split_host(address)
    port = address.rsplit(":", 1)[1] if ":" in address.replace(f"[{host}]", "") else "8384"
    if host in ("", "0.0.0.0"):  # noqa: S104 - mapping a wildcard bind to loopback, not binding
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def _parse(path: Path) -> ET.ElementTree[ET.Element]:
    try:
        return ET.parse(path)  # noqa: S314 - Syncthing's own config file, written by this user
    except (OSError, ET.ParseError) as exc:
        raise SyncthingConfigMissing(f"Syncthing's {path} cannot be read ({exc}).") from exc


def read_config(home: Path, *, api_key: str | None = None) -> StConfig:
    """Read GUI address and API key; ``api_key`` or STGUIAPIKEY override the file's key."""
    path = home / CONFIG_NAME
    if not path.is_file():
        raise SyncthingConfigMissing(f"There is no Syncthing config.xml in {home}.")
    root = _parse(path).getroot()
    gui = root.find("gui")
    address = (gui.findtext("address") if gui is not None else None) or "127.0.0.1:8384"
    tls = gui is not None and gui.get("tls", "false").lower() == "true"
    key = api_key or os.environ.get("STGUIAPIKEY") or (gui.findtext("apikey") if gui else None)
    if not key:
        raise SyncthingConfigMissing(
            f"Syncthing's {path} has no API key.",
            hint="Open the Syncthing GUI once, or set STGUIAPIKEY, then run the command again.",
        )
    listen = tuple(e.text or "" for e in root.findall("options/listenAddress"))
    return StConfig(
        home=home, gui_address=address.strip(), gui_tls=tls, listen_addresses=listen, api_key=key
    )


def device_id_from_cert(home: Path) -> DeviceId:
    """This node's device ID from ``cert.pem``: SHA-256 of the DER certificate, as Syncthing
    computes it. Works without starting or even asking the binary (whose flag for it moved)."""
    try:
        pem = (home / "cert.pem").read_text(encoding="ascii")
    except OSError as exc:
        raise SyncthingConfigMissing(f"There is no readable cert.pem in {home}.") from exc
    body = re.search(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", pem, re.S)
    if body is None:
        raise SyncthingConfigMissing(f"{home / 'cert.pem'} holds no certificate.")
    digest = hashlib.sha256(base64.b64decode("".join(body.group(1).split()))).digest()
    data = base64.b32encode(digest).decode("ascii").rstrip("=")
    checked = "".join(data[i : i + 13] + luhn_base32(data[i : i + 13]) for i in range(0, 52, 13))
    return DeviceId("-".join(checked[i : i + 7] for i in range(0, 56, 7)))


def generate_config(binary: str, home: Path) -> DeviceId:
    """Create keys and a config in ``home`` without starting a node (``syncthing generate``)."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    argv, env = generate_command(binary, home, binary_version(binary))
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, check=False, env=os.environ | env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SetupError(f"`syncthing generate` could not run ({exc}).") from exc
    if done.returncode != 0 or not (home / CONFIG_NAME).is_file():
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SetupError(f"`syncthing generate` failed in {home}: {last[0]}")
    return device_id_from_cert(home)


def _set(parent: ET.Element, tag: str, text: str) -> None:
    element = parent.find(tag)
    if element is None:
        element = ET.SubElement(parent, tag)
    element.text = text


def harden_config(
    home: Path,
    *,
    gui_address: str | None = None,
    listen_address: str | None = None,
    no_discovery: bool = True,
    reconnection_interval_s: int | None = None,
) -> None:
    """Rewrite a config that has never been started: loopback GUI, explicit listen address,
    no discovery/relays/NAT/reports/upgrades. Call before the node's first start."""
    path = home / CONFIG_NAME
    tree = _parse(path)
    root = tree.getroot()
    gui = root.find("gui")
    options = root.find("options")
    if gui is None or options is None:
        raise SetupError(f"{path} does not look like a Syncthing config (no gui/options).")
    if gui_address is not None:
        _set(gui, "address", gui_address)
    if listen_address is not None:
        for element in options.findall("listenAddress"):
            options.remove(element)
        ET.SubElement(options, "listenAddress").text = listen_address
    if no_discovery:
        for tag in ("globalAnnounceServer", "stunServer", "unackedNotificationID"):
            for element in options.findall(tag):
                options.remove(element)
        for tag, value in _HARDENED_OPTIONS.items():
            _set(options, tag, value)
    if reconnection_interval_s is not None:
        _set(options, "reconnectionIntervalS", str(reconnection_interval_s))
    tree.write(path, encoding="unicode")
    path.chmod(0o600)


def default_home(binary: str) -> Path:
    """Where a new config should go so that a plain ``syncthing serve`` (and its systemd unit)
    finds it: wherever the installed binary says, else the 1.27+/2.x default."""
    asked = _home_from_binary(binary)
    if asked is not None:
        return asked
    return candidate_homes()[-1] if sys.platform == "darwin" else _state_home() / "syncthing"


def _state_home() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME") or _home_dir() / ".local" / "state")
