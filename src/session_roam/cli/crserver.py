"""The cr server: a process that has imported everything ``roam cr`` needs, so that a ``roam cr``
pays for its interpreter and a socket round trip instead of ~100 ms of imports and set-up.

``roam watch`` starts it (``cli.crsupervise``), restarts it when it ends and stops it when the
watch stops. It listens on ``crwire.socket_path`` and, for each client of this user, forks a
child that runs the fast path's own ``cli.fast_cr.run_fast_cr`` with the client's argv, cwd,
environment, umask and standard fds: the same code as in the client's process, which is why
nothing on that path may compute an env- or cwd-derived value at import time
(tests/cli/test_cr_server.py holds it). The child asks the client to start claude (see
``cli.crclient`` for why) and reports the exit code.

Single-threaded on purpose: ``fork`` copies only the calling thread, so a server with threads
could hand a child a lock held forever. The watch itself runs watchdog threads, hence a process
of its own. docs/design/cr-server.md has the protocol, the lifecycle and the security rules.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import socket
import stat
import sys
import time
from typing import TYPE_CHECKING, Final, NoReturn

from session_roam.cli.crwire import (
    PROTOCOL,
    Channel,
    package_dir,
    peer_credentials,
    socket_path,
)
from session_roam.engine.syncthing import forget_kept, keep_local_connected

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["EXIT_STALE", "EXIT_UNSERVED", "fingerprint", "main", "preload", "serve"]

#: The installed code changed under the server: the watch starts a new one at once.
EXIT_STALE: Final = 75
#: Nowhere to listen (no ``XDG_RUNTIME_DIR``, no SO_PEERCRED): the watch does not try again.
EXIT_UNSERVED: Final = 3

#: What ``roam cr`` imports on its way, loaded before the first fork (docs/design/cr-server.md;
#: tests/cli/test_cr_server.py checks that each exists).
_PRELOAD: Final = (
    "session_roam.cli.crchild",
    "session_roam.cli.fast_cr",
    "session_roam.cli.claude_args",
    "session_roam.cli.launched",
    "session_roam.cli.logs",
    "session_roam.cli.output",
    "session_roam.engine.claude.launch",
    "session_roam.engine.resume.coordinate",
    "session_roam.engine.resume.newsession",
    "session_roam.engine.resume.safe",
    "session_roam.engine.syncthing.client",
    "session_roam.engine.syncthing.syncready",
    "session_roam.engine.lease.api",
    "session_roam.engine.travel.carry",
    "session_roam.engine.deletions.archive",
    "tomllib",
    # what an httpx.Client imports when it is made (measured in a served cr's child)
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "certifi",
    "encodings.idna",
    "encodings.ascii",
    "encodings.utf_16_le",
    "importlib.resources",
    "stringprep",
)

_POLL_S: Final = 1.0
#: The connection to Syncthing left for the next child (``engine.syncthing.kept``) is made
#: again this long after the last one went to a child, so not while that child starts, and
#: used (kept alive) this often: under the 12 s its pool keeps an idle connection.
_SPARE_AFTER_FORK_S: Final = 0.3
_SPARE_EVERY_S: Final = 10.0
_SPARE_TIMEOUT_S: Final = 0.5


def fingerprint(root: str) -> tuple[tuple[str, int, int], ...]:
    """Every ``.py`` file of the package under ``root``, with its size and mtime: a server whose
    fingerprint changed runs code older than what is installed."""
    found: list[tuple[str, int, int]] = []
    folders = [root]
    while folders:
        folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    folders.append(entry.path)
                elif entry.name.endswith(".py"):
                    facts = entry.stat()
                    found.append((entry.path, facts.st_size, facts.st_mtime_ns))
    return tuple(sorted(found))


def preload() -> None:
    """Import what a ``roam cr`` would, then freeze it: children share these pages and the
    collector never walks them."""
    import importlib

    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # a dependency gone from the path: the child imports what it needs
            continue
    with contextlib.suppress(ImportError):  # its first one initialises SSL (~1 ms of a child)
        import httpx

        httpx.HTTPTransport(verify=False).close()
    gc.collect()
    gc.freeze()


def _private_dir(path: str) -> None:
    """``path`` as a folder of ours alone (0700), never through a link planted there."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    facts = os.lstat(path)
    if not stat.S_ISDIR(facts.st_mode) or facts.st_uid != os.getuid():
        raise PermissionError(f"{path} is not a folder of this user")
    os.chmod(path, 0o700)


@contextlib.contextmanager
def listening(path: str) -> Iterator[socket.socket]:
    """A socket bound at ``path`` (0600, its folder 0700), removed on the way out unless
    another server has taken the path since."""
    _private_dir(os.path.dirname(path))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # created 0600: never a moment when others could connect
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(16)
    mine = os.stat(path).st_ino
    try:
        yield sock
    finally:
        sock.close()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == mine:
                os.unlink(path)


def _stop(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(0)


class _Spare:
    """When to leave a connection to this environment's Syncthing for the next child (the
    watch's environment is the person's: ``roam cr`` there talks to the same Syncthing)."""

    def __init__(self) -> None:
        self.due = time.monotonic()

    def wait_s(self) -> float:
        return min(_POLL_S, max(0.0, self.due - time.monotonic()))

    def refresh(self) -> None:
        if time.monotonic() >= self.due:
            keep_local_connected(timeout_s=_SPARE_TIMEOUT_S)
            self.due = time.monotonic() + _SPARE_EVERY_S

    def handed(self) -> None:
        """A child has it now: close this process's copy, make the next one later."""
        forget_kept()
        self.due = time.monotonic() + _SPARE_AFTER_FORK_S


def serve(path: str, parent: int) -> int:
    """Accept and fork until told to stop, the parent (the watch) is gone, or the installed
    code changed (``EXIT_STALE``)."""
    root = package_dir()
    known = fingerprint(root)  # before the imports: a change during them reads as stale
    preload()
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _stop)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    spare = _Spare()
    with listening(path) as listener:
        while os.getppid() == parent:
            ready, _, _ = select.select([listener], [], [], spare.wait_s())
            if not ready:
                spare.refresh()
                continue
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                peer = peer_credentials(conn)
                if peer is None or peer[1] != os.getuid():
                    continue
                pid = peer[0]
                if fingerprint(root) != known:
                    with contextlib.suppress(OSError):
                        Channel(conn).send({"t": "stale"})
                    return EXIT_STALE
                if os.fork() == 0:
                    _in_child(conn, listener, pid)
                spare.handed()
    return 0


def _in_child(conn: socket.socket, listener: socket.socket, client: int) -> NoReturn:
    """The forked child: serve this one client, then end without the server's teardown."""
    code = 1
    try:
        listener.close()
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from session_roam.cli.crchild import serve_client

        code = serve_client(Channel(conn), client, root=package_dir(), protocol=PROTOCOL)
    except BaseException:  # never back into the accept loop
        with contextlib.suppress(BaseException):
            import traceback

            traceback.print_exc()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """``python -m session_roam.cli.crserver --parent PID``, as ``roam watch`` runs it."""
    args = sys.argv[1:] if argv is None else argv
    parent = int(args[1]) if len(args) == 2 and args[0] == "--parent" else os.getppid()
    path = socket_path(os.environ)
    if path is None or not hasattr(socket, "SO_PEERCRED"):
        return EXIT_UNSERVED
    try:
        return serve(path, parent)
    except OSError as exc:  # a folder that is not ours, a full disk: say so, do not retry
        sys.stderr.write(f"cr server: cannot listen at {path}: {exc.strerror or exc}\n")
        return EXIT_UNSERVED


if __name__ == "__main__":
    sys.exit(main())
