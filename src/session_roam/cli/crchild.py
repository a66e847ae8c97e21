"""One served ``roam cr``: the cr server's forked child becomes the client's ``roam`` process
(its fds, cwd, environment, umask, argv) and runs the fast path's ``run_fast_cr``, with a
launcher that has the client start claude.

The handshake makes fallback safe: the child runs nothing until the client's "go", and the
client, once it has sent "go", never runs the command itself. docs/design/cr-server.md.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import locale
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, Final

from session_roam.cli.fast_cr import parse_fast_cr, run_fast_cr
from session_roam.engine.resume import ChildExit, Terminated
from session_roam.errors import ClaudeMissing

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from types import FrameType

    from session_roam.cli.crwire import Channel

__all__ = ["RemoteLauncher", "adopt", "serve_client"]

#: How long a connected client may take to send its hello and its "go".
_HELLO_S: Final = 5.0

_FORWARDED: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def serve_client(channel: Channel, client: int, *, root: str, protocol: int) -> int:
    """Handshake, then the whole ``roam cr``; the exit code (0 when it was not ours to serve)."""
    channel.sock.settimeout(_HELLO_S)
    hello, fds = channel.receive(max_fds=3)
    try:
        if hello is None or len(fds) != 3:
            return 0
        refusal = _refusal(hello, root, protocol)
        options = parse_fast_cr(hello["argv"]) if refusal is None else None
        if options is None:
            channel.send({"t": refusal or "not-mine"})  # the client runs it in its own process
            return 0
        channel.send({"t": "ok", "pid": os.getpid()})
        go, _ = channel.receive()
        if go is None or go.get("t") != "go":
            return 0  # the client gave up waiting and runs it itself
        channel.sock.settimeout(None)
        os.setsid()  # a watch restart, or this server's end, must not end the user's session
        adopt(hello, fds)
        fds = []
    finally:
        for fd in fds:
            os.close(fd)
    try:
        code = run_fast_cr(options, RemoteLauncher(channel, client))
    except Exception:  # what the interpreter would print in-process
        import traceback

        traceback.print_exc()
        code = 1
    _finish()
    with contextlib.suppress(OSError):
        channel.send({"t": "done", "code": code})
    return code


def _refusal(hello: Mapping[str, Any], root: str, protocol: int) -> str | None:
    """Why this server must not serve the client: another protocol or another install."""
    if hello.get("protocol") != protocol or hello.get("package") != root:
        return "not-mine"
    try:
        os.chdir(str(hello["cwd"]))
    except (OSError, KeyError):
        return "not-mine"  # the client then says, in its own words, what is wrong
    return None


def adopt(hello: Mapping[str, Any], fds: Sequence[int]) -> None:
    """Become the client's process: its standard fds (and text streams in its encodings),
    environment, time zone, character type locale, umask and argv. The cwd is already its
    (``_refusal``). Not adopted: resource limits, nice value and cgroup stay the server's (the
    watch's); claude, started by the client, has the client's."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        if fd > 2:
            os.close(fd)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(hello["env"]).items()})  # environb too
    time.tzset()
    with contextlib.suppress(locale.Error):  # as the interpreter set it at the client's start
        locale.setlocale(locale.LC_CTYPE, "")
    os.umask(int(hello["umask"]))
    sys.argv = [str(hello.get("argv0", "roam")), *hello["argv"]]
    stdio = list(hello.get("stdio") or [])
    sys.stdin, sys.stdout, sys.stderr = (
        _text(fd, *(stdio[fd] if fd < len(stdio) else (None, None))) for fd in range(3)
    )


def _text(fd: int, encoding: str | None, errors: str | None) -> io.TextIOWrapper:
    """A text stream on ``fd`` as the interpreter would have made it for the client."""
    raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
    buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered,
        encoding=encoding or "utf-8",
        errors=errors or ("backslashreplace" if fd == 2 else "strict"),
        line_buffering=fd == 2 or (fd == 1 and os.isatty(fd)),
    )


def _finish() -> None:
    """``fast_cr.exit_now``'s work, done before the client hears the code: exit handlers,
    logging, the streams flushed (the output is on the client's fds before it exits)."""
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


class RemoteLauncher:
    """``run_child``'s seam for ``CrOptions.launcher``: the client runs claude and says how it
    ended. A signal this child gets meanwhile goes to the client, whose ``run_child`` passes it
    on to claude and records it, as the in-process ``run_child`` would."""

    def __init__(self, channel: Channel, client: int) -> None:
        self._channel = channel
        self._client = client

    def __call__(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None
    ) -> ChildExit:
        def forward(signum: int, _frame: FrameType | None) -> None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._client, signum)

        previous = {signum: signal.signal(signum, forward) for signum in _FORWARDED}
        try:
            message = {"t": "launch", "argv": list(argv), "env": dict(env)}
            if cwd is not None:
                message["cwd"] = str(cwd)
            try:
                self._channel.send(message)
            except (OSError, ValueError):
                # The client is gone and claude never started: unwind as an in-process roam
                # whose terminal hung up, so the lease is released rather than left held.
                raise Terminated(signal.SIGHUP) from None
            try:
                answer, _ = self._channel.receive()
            except (OSError, ValueError):
                answer = None
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if answer is None:
            os._exit(1)  # the client is gone: as a kill -9 of roam, the claim's pid is dead now
        if answer.get("t") == "missing":
            raise ClaudeMissing(str(answer["message"]), hint=answer.get("hint"))
        return ChildExit(int(answer["code"]), tuple(int(s) for s in answer.get("signals", ())))
