"""The ``roam cr`` client of the cr server that ``roam watch`` runs (``cli.crserver``).

A served ``roam cr`` costs this process the interpreter and this module (``os``, ``sys``,
``_signal``, ``_socket``, and ``crwire``, which keeps to C modules too): the server's child,
forked from a process that imported everything already, does the work with this process's
argv, cwd, environment, umask and standard fds.
claude itself is started here, by the same ``run_child`` as the in-process path: it must be in
the terminal's foreground process group (job control, SIGWINCH, /dev/tty), which the child,
in a session of its own, is not.

``served_cr`` returns None whenever the in-process path should run instead: no server, a server
of other code, a command line the fast path would not take, or any doubt before the child has
started work. Once it has, the child's exit code is ours. docs/design/cr-server.md.
"""

from __future__ import annotations

import _socket as socket  # not socket, nor signal: each would load enum (crwire says why)
import os
import sys

from session_roam.cli.crwire import (
    DISABLE_ENV,
    PROTOCOL,
    Channel,
    package_dir,
    socket_path,
    trusted_server,
)

TYPE_CHECKING = False  # not from typing: every served cr pays for each import
if TYPE_CHECKING:
    import signal
    from _socket import socket as Socket
    from collections.abc import Callable
    from types import FrameType
    from typing import Any, Final

    from session_roam.engine.resume import ChildExit
else:
    import _signal as signal  # the same functions and numbers; typeshed has no stub of its own

__all__ = ["served_cr"]

#: How long a server may take to say whether it serves this command line before roam runs it
#: in its own process instead; a live server answers in a few milliseconds.
_ANSWER_S: Final = 2.0

_LOST: Final = "roam: the cr server's process ended without saying how the session ended.\n"

_FORWARDED: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def served_cr(argv: list[str]) -> int | None:
    """Run ``roam cr`` through the server and return its exit code; None to run it here."""
    if os.environ.get(DISABLE_ENV, "") == "0":
        return None
    path = socket_path(os.environ)
    if path is None:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        served = _handshake(sock, path, argv)
        if served is None:
            return None
        channel, child = served
        # From "go" on, a signal is the child's to act on: forwarded before it can arrive.
        passed: list[int] = []
        forward = _forwarder(child, passed)
        previous = {signum: signal.signal(signum, forward) for signum in _FORWARDED}
        try:
            channel.send({"t": "go"})
        except OSError:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            return None  # the child never read "go": it runs nothing, we run it here
        sock.settimeout(None)
        return _follow(channel, passed)
    finally:
        sock.close()


def _stdio() -> list[list[str | None]]:
    return [
        [getattr(stream, "encoding", None), getattr(stream, "errors", None)]
        for stream in (sys.stdin, sys.stdout, sys.stderr)
    ]


def _handshake(sock: Socket, path: str, argv: list[str]) -> tuple[Channel, int] | None:
    """The server's child, ready to serve this command line, and its pid; None when it is not
    going to serve it. It runs nothing until it reads our "go"."""
    sock.settimeout(_ANSWER_S)
    channel = Channel(sock)
    try:
        hello = {
            "t": "hello",
            "protocol": PROTOCOL,
            "package": package_dir(),
            "argv": argv,
            "argv0": sys.argv[0],
            "cwd": os.getcwd(),  # a removed cwd raises: the in-process path then says so
            "env": dict(os.environ),
            "umask": _umask(),
            "stdio": _stdio(),
        }
        sock.connect(path)
        if not trusted_server(sock, path):
            return None  # not ours: it gets nothing, the in-process path runs the command
        channel.send(hello, fds=[0, 1, 2])
        answer, _ = channel.receive()
        if answer is None or answer.get("t") != "ok":
            return None
        pid = int(answer["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no server, refused, closed, timed out: the in-process path
    return channel, pid


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _forwarder(child: int, passed: list[int]) -> Callable[[int, FrameType | None], None]:
    """A signal handler that passes the signal to the child, which then does what an
    in-process roam receiving it does (withdraw, release, exit 128 + N), and notes it."""

    def forward(signum: int, _frame: FrameType | None) -> None:
        passed.append(signum)
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            return  # it has ended: its "done" is on the way

    return forward


def _lost(passed: list[int]) -> int:
    """The child ended without "done". Ended by a signal we passed on (one it does not catch at
    that point): end by it too, as the in-process roam that got it would have. Else say so."""
    if passed:
        signal.signal(passed[-1], signal.SIG_DFL)
        os.kill(os.getpid(), passed[-1])
    sys.stderr.write(_LOST)
    return 1


def _follow(channel: Channel, passed: list[int]) -> int:
    """Launch claude when the child asks, and return the child's exit code."""
    from session_roam.engine.claude import run_child  # now, while the child leases

    while True:
        try:
            message, _ = channel.receive()
        except (OSError, ValueError):
            message = None
        if message is None:
            return _lost(passed)
        if message.get("t") == "done":
            return int(message["code"])
        if message.get("t") == "launch":
            answer = _launch(run_child, message)
            try:
                channel.send(answer)
            except OSError:
                return _lost(passed)


def _launch(run_child: Callable[..., ChildExit], message: dict[str, Any]) -> dict[str, Any]:
    """claude, run here exactly as the in-process path runs it (``run_child``)."""
    from session_roam.errors import ClaudeMissing

    try:
        done = run_child(message["argv"], env=message["env"], cwd=message.get("cwd"))
    except ClaudeMissing as missing:
        return {"t": "missing", "message": missing.message, "hint": missing.hint}
    return {"t": "exit", "code": done.exit_code, "signals": list(done.signals)}
