"""``roam watch``'s cr server (``cli.crserver``) with ``phase_child``'s stopwatch, for
``bench.cr.served_phases``.

Run as ``python -m bench.cr.served_server --parent PID`` from the repository's root. The engine
is wrapped before the server preloads it, so every forked child runs the same code as a served
``roam cr``, only timed; each child writes its record to the ``ROAM_BENCH_PHASES`` of the client
it serves (its adopted environment) when ``crchild`` runs the exit handlers. The server's own
steps before the fork (SO_PEERCRED, the fingerprint walk, the fork) are in the record too: a
request's record starts empty when the server reads the client's credentials.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from pathlib import Path
from typing import Any

from .phase_child import _CALLS, _EVENTS, _patch, instrument


def members(groups: tuple[int, ...]) -> tuple[int, ...]:
    """The processes of these process groups (a Syncthing node: its monitor and its serving
    process), found once: reading every process's stat would cost each mark ~8 ms."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rpartition(")")[2].split()[2]) in groups:
                found.append(int(stat.parent.name))
    return tuple(found)


def cpu_s(pids: tuple[int, ...]) -> float:
    """CPU seconds used so far by these processes, every thread (the scheduler's own count,
    in ns: the 10 ms ticks of ``stat`` are too coarse for one ``roam cr``)."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(task.read_text().split()[0])
    return total / 1e9


def _with_cpu(name: str, function: Any) -> Any:
    """``function``, with the Syncthing CPU seconds used so far (``ROAM_BENCH_PIDS``, in the
    client's environment) recorded before and after it as events ``cpu: NAME start/end``."""

    def mark(when: str) -> None:
        pids = os.environ.get("ROAM_BENCH_PIDS")
        if pids:
            used = cpu_s(tuple(int(pid) for pid in pids.split(",")))
            _EVENTS.append((f"cpu: {name} {when}", used, used))

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mark("start")
        try:
            return function(*args, **kwargs)
        finally:
            mark("end")

    return wrapper


def _first_of_request(function: Any) -> Any:
    """``crserver.peer_credentials``, the server's first step for each client: it empties the
    record (the server's earlier requests are not this child's) and is timed."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _EVENTS.clear()
        _CALLS.clear()
        started = time.time()
        try:
            return function(*args, **kwargs)
        finally:
            _EVENTS.append(("server: peer credentials", started, time.time()))

    return wrapper


def _marked(name: str, function: Any) -> Any:
    """``function``, its start recorded as an event of no length: the record is written before
    it returns (``crchild._finish``), so its end would never be."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        now = time.time()
        _EVENTS.append((name, now, now))
        return function(*args, **kwargs)

    return wrapper


def _around(owner: Any, attribute: str, wrap: Any) -> None:
    """``owner.attribute`` replaced by ``wrap(owner.attribute)``."""
    setattr(owner, attribute, wrap(getattr(owner, attribute)))


def main() -> None:
    instrument()
    from session_roam.cli import crchild, crserver

    _around(crserver, "peer_credentials", _first_of_request)
    _patch(crserver, "fingerprint", "server: fingerprint")
    _patch(os, "fork", "server: fork")  # in the child, its end is the child's first moment
    _around(crchild, "serve_client", functools.partial(_marked, "child: serve_client"))
    _patch(crchild, "adopt", "child: adopt")
    _patch(crchild, "run_fast_cr", "child: run_fast_cr")
    _around(crchild, "run_fast_cr", functools.partial(_with_cpu, "run_fast_cr"))
    _patch(crchild.RemoteLauncher, "__call__", "child: launch (client runs claude)")
    _around(crchild.RemoteLauncher, "__call__", functools.partial(_with_cpu, "launch"))
    sys.exit(crserver.main(sys.argv[1:]))


if __name__ == "__main__":
    main()
