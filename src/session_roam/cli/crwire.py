"""What the ``roam cr`` client and the cr server (``cli.crserver``) both know: where the socket
is, how a message is framed, and what makes a server the right one for a client.

Kept to ``os``, ``stat``, ``sys`` and the C halves of ``socket`` and ``json`` (``_socket``,
``_json``): the client imports it before anything else on every ``roam cr``, and must fall back
to the in-process path within a few milliseconds when there is no server
(docs/design/cr-server.md). ``socket`` and ``signal`` would load ``enum`` (with ``functools``
and ``collections``), ``json`` would load ``re``: about 12 of a served cr's milliseconds, before
the server even hears of it (issue 16). What they add is not used here.

A message is a 4-byte big-endian length and that many bytes of JSON (one object with a ``t``
field naming it). The client's first message carries its standard fds (SCM_RIGHTS).
"""

from __future__ import annotations

import _socket
import os
import stat
import sys

TYPE_CHECKING = False  # not from typing: the client pays for every import
if TYPE_CHECKING:
    from _socket import socket
    from collections.abc import Mapping
    from typing import Any, Final

__all__ = [
    "DISABLE_ENV",
    "MAX_MESSAGE",
    "PROTOCOL",
    "Channel",
    "package_dir",
    "peer_credentials",
    "socket_path",
    "trusted_server",
]

#: Bumped whenever a message changes meaning; a server refuses any other as "not mine".
PROTOCOL: Final = 1

#: ``ROAM_CR_SERVER=0`` keeps ``roam cr`` in its own process (docs/cli.md).
DISABLE_ENV: Final = "ROAM_CR_SERVER"

#: The hello holds the whole environment; anything beyond this is not a client of ours.
MAX_MESSAGE: Final = 8 << 20

#: ``sockaddr_un.sun_path`` is 108 bytes on Linux, the terminating NUL included.
_SUN_PATH_MAX: Final = 107


def socket_path(environ: Mapping[str, str]) -> str | None:
    """``$XDG_RUNTIME_DIR/session-roam/cr.sock``, or None: no runtime dir (nowhere private
    enough, by the XDG rules, for a socket that hands out a person's processes), a relative
    one, or a path too long for ``sun_path``."""
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if not runtime or not os.path.isabs(runtime):
        return None
    path = os.path.join(runtime, "session-roam", "cr.sock")
    return path if len(os.fsencode(path)) <= _SUN_PATH_MAX else None


def peer_credentials(sock: socket) -> tuple[int, int] | None:
    """The pid and uid of the process at the other end of a connected Unix socket, as the
    kernel has them (SO_PEERCRED: pid, uid, gid as three ints); None where it cannot say."""
    option = getattr(_socket, "SO_PEERCRED", None)
    if option is None:
        return None
    raw = sock.getsockopt(_socket.SOL_SOCKET, option, 12)
    pid, uid = (int.from_bytes(raw[i : i + 4], sys.byteorder, signed=True) for i in (0, 4))
    return pid, uid


def trusted_server(sock: socket, path: str) -> bool:
    """May a client hand this server its environment and terminal? Only when the socket's
    folder is a real folder of ours that nobody else can enter, and the process listening is
    ours: a shared or pre-created runtime dir, or ``sudo -E`` keeping a user's
    ``XDG_RUNTIME_DIR``, must never make roam send secrets to, or run commands from, someone
    else's socket."""
    try:
        folder = os.lstat(os.path.dirname(path))
    except OSError:
        return False
    private = stat.S_ISDIR(folder.st_mode) and not folder.st_mode & 0o077
    peer = peer_credentials(sock)
    return (
        private and folder.st_uid == os.geteuid() and peer is not None and peer[1] == os.geteuid()
    )


def package_dir() -> str:
    """The installed package this code runs from: a client is served only by a server that
    imported the same files (``crserver.fingerprint`` then says whether they changed since)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def _no_default(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not JSON")


class _Strict:
    """``json.JSONDecoder``'s defaults, as ``_json.make_scanner`` reads them."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(
        {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": -float("inf")}.__getitem__
    )


try:  # the C parts of json.dumps(separators=(",", ":")) and json.loads, without json's imports
    from _json import encode_basestring_ascii, make_encoder, make_scanner

    _encode = make_encoder(
        {}, _no_default, encode_basestring_ascii, None, ":", ",", False, False, True
    )
    _scan = make_scanner(_Strict())  # type: ignore[arg-type]  # any object with these fields

    def encode(message: Mapping[str, Any]) -> bytes:
        """``json.dumps(message, separators=(",", ":")).encode()``."""
        return "".join(_encode(message, 0)).encode()

    def decode(data: bytes) -> Any:
        """``json.loads(data)`` of what ``encode`` wrote (no white space around it)."""
        text = data.decode()
        try:
            value, end = _scan(text, 0)
        except StopIteration:
            raise ValueError("not JSON") from None
        if end != len(text):
            raise ValueError("not JSON: extra data")
        return value

except ImportError:  # an interpreter without CPython's _json
    import json

    def encode(message: Mapping[str, Any]) -> bytes:
        return json.dumps(message, separators=(",", ":")).encode()

    def decode(data: bytes) -> Any:
        return json.loads(data)


def _send_fds(sock: socket, frame: bytes, fds: list[int]) -> int:
    """``socket.send_fds``: ``frame`` with ``fds`` as SCM_RIGHTS; how much of it was sent."""
    rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
    return sock.sendmsg([frame], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])


def _recv_fds(sock: socket, size: int, max_fds: int) -> tuple[bytes, list[int]]:
    """``socket.recv_fds``: up to ``size`` bytes and the fds (at most ``max_fds``) with them."""
    data, ancillary, _flags, _addr = sock.recvmsg(size, _socket.CMSG_LEN(max_fds * 4))
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            whole = len(payload) - len(payload) % 4
            fds += [
                int.from_bytes(payload[i : i + 4], sys.byteorder, signed=True)
                for i in range(0, whole, 4)
            ]
    return data, fds


class Channel:
    """One connection's messages, read whole whatever the kernel's segments."""

    def __init__(self, sock: socket) -> None:
        self.sock = sock
        self._buffer = b""

    def send(self, message: Mapping[str, Any], fds: list[int] | None = None) -> None:
        data = encode(message)
        frame = len(data).to_bytes(4, "big") + data
        if fds:
            sent = _send_fds(self.sock, frame, fds)
            frame = frame[sent:]
        if frame:
            self.sock.sendall(frame)

    def receive(self, *, max_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
        """The next message and the fds that came with it; (None, []) at end of stream.
        Raises OSError (a timeout included) or ValueError (not our framing)."""
        fds: list[int] = []
        while True:
            if len(self._buffer) >= 4:
                size = int.from_bytes(self._buffer[:4], "big")
                if size > MAX_MESSAGE:
                    raise ValueError("message too large")
                if len(self._buffer) >= 4 + size:
                    data, self._buffer = self._buffer[4 : 4 + size], self._buffer[4 + size :]
                    message = decode(data)
                    if not isinstance(message, dict):
                        raise ValueError("not a message")
                    return message, fds
            if max_fds and not fds:
                chunk, fds = _recv_fds(self.sock, 1 << 16, max_fds)
            else:
                chunk = self.sock.recv(1 << 16)
            if not chunk:
                for fd in fds:
                    os.close(fd)
                return None, []
            self._buffer += chunk
