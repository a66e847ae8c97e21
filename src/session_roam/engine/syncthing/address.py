"""Where another machine can reach this one: the real listen addresses of the running Syncthing.

Syncthing reports what it actually listens on in ``/rest/system/status``
(``connectionServiceStatus``, keyed by listen URI, with ``lanAddresses``); the config's
``default`` stands for ``tcp://0.0.0.0:22000`` and friends, and a port taken at start moves.
An unspecified host (``0.0.0.0``, ``[::]``) means every interface, which no other machine can
dial, so it is replaced by this machine's own IPv4 addresses (read from its interfaces, no
packet sent), else its host name. A host Syncthing is bound to (``127.0.0.1`` in tests, a LAN
address given with ``--listen``) is kept as it is.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from session_roam.errors import SyncthingError

if TYPE_CHECKING:
    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = ["dialable", "listen_addresses", "local_hosts"]

_DIALABLE: Final = ("tcp", "tcp4", "tcp6", "quic", "quic4", "quic6")
_SIOCGIFADDR: Final = 0x8915  # Linux: an interface's IPv4 address
#: Bridges to local containers and VMs: their addresses reach nothing outside this machine.
_LOCAL_BRIDGES: Final = ("docker", "br-", "veth", "virbr", "lxcbr", "cni", "podman")


def _interface_ipv4() -> list[str]:
    if not sys.platform.startswith("linux"):
        return []
    import fcntl

    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _index, name in socket.if_nameindex():
            if name.startswith(_LOCAL_BRIDGES):
                continue
            with contextlib.suppress(OSError):
                request = struct.pack("256s", name.encode()[:15])
                packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)
                found.append(socket.inet_ntoa(packed[20:24]))
    return found


def local_hosts() -> list[str]:
    """This machine's IPv4 addresses another machine may dial (private ones first), else its
    host name: never a loopback or link-local address."""
    seen: list[str] = []
    candidates = _interface_ipv4()
    with contextlib.suppress(OSError):
        candidates += [str(a[4][0]) for a in socket.getaddrinfo(socket.gethostname(), None)]
    for text in candidates:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        usable = not (ip.is_loopback or ip.is_link_local or ip.is_unspecified)
        if ip.version == 4 and usable and text not in seen:
            seen.append(text)
    seen.sort(key=lambda t: not ipaddress.ip_address(t).is_private)
    return seen or [socket.gethostname()]


def dialable(address: str, hosts: list[str]) -> list[str]:
    """``address`` as another machine dials it: an unspecified host becomes each of ``hosts``;
    relays, ``dynamic`` and malformed entries give nothing."""
    parts = urlsplit(address)
    if parts.scheme not in _DIALABLE:
        return []
    try:
        port = parts.port
    except ValueError:
        return []
    host = parts.hostname or ""
    if port is None or port == 0:
        return []
    unspecified = host in ("", "0.0.0.0", "::")  # noqa: S104 - read, never bound
    if not unspecified:
        return [f"{parts.scheme}://{f'[{host}]' if ':' in host else host}:{port}"]
    return [f"{parts.scheme}://{h}:{port}" for h in hosts]


def listen_addresses(client: SyncthingClient) -> tuple[str, ...]:
    """The addresses the running Syncthing can be dialled at, tcp first; empty when it cannot
    say (it then listens nowhere a peer could dial, or the API failed)."""
    try:
        services = client.system_status().raw.get("connectionServiceStatus")
    except SyncthingError:
        return ()
    if not isinstance(services, Mapping):
        return ()
    hosts = local_hosts()
    found: list[str] = []
    for uri, state in services.items():
        if not isinstance(state, Mapping) or state.get("error"):
            continue
        lan = state.get("lanAddresses")
        for each in lan if isinstance(lan, list) and lan else [uri]:
            found += [a for a in dialable(str(each), hosts) if a not in found]
    return tuple(sorted(found, key=lambda a: not a.startswith("tcp")))
