"""``roam`` with a stopwatch on each phase of ``roam cr``, for ``bench.cr.phases``.

Run as a script (``python bench/cr/phase_child.py cr ID``) with ``ROAM_BENCH_PHASES`` naming
the JSON file to write. Wraps the engine's steps by patching module attributes before the CLI
imports them, so the command runs exactly as ``roam cr`` does, only timed.
"""

from __future__ import annotations

import atexit
import functools
import gc
import json
import os
import sys
import time
from typing import Any

_T_UP = time.time()
_EVENTS: list[tuple[str, float, float]] = []
#: Every REST request and every sleep of the run, in order: (what, start, end).
_CALLS: list[tuple[str, float, float]] = []


def _timed(name: str, function: Any) -> Any:
    return _logged(function, lambda *_, **__: name, _EVENTS)


def _patch(owner: Any, attribute: str, name: str) -> None:
    setattr(owner, attribute, _timed(name, getattr(owner, attribute)))


def _logged(function: Any, describe: Any, into: list[tuple[str, float, float]] = _CALLS) -> Any:
    """``function``, each call recorded in ``into`` as (``describe(*args)``, start, end)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.time()
        try:
            return function(*args, **kwargs)
        finally:
            into.append((describe(*args, **kwargs), started, time.time()))

    return wrapper


def _rest(_client: Any, method: str, path: str, **kwargs: Any) -> str:
    params = kwargs.get("params")
    items = params.items() if isinstance(params, dict) else (params or ())
    shown = "&".join(f"{k}={v}" for k, v in items if k in ("sub", "events", "timeout"))
    return f"{method} {path}" + (f"?{shown}" if shown else "")


def _write() -> None:
    target = os.environ.get("ROAM_BENCH_PHASES")
    if not target:  # bench.cr.served_phases's server itself: only its children report
        return
    document = {"up": _T_UP, "exit": time.time(), "events": _EVENTS, "calls": _CALLS}
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(document, handle)


def instrument() -> None:
    """Import the engine and wrap its steps, its REST requests and its sleeps; the record is
    written at exit to ``ROAM_BENCH_PHASES``."""
    atexit.register(_write)
    started = time.time()
    gc.disable()  # as cli.fast_cr imports the engine: frozen after, never walked
    from session_roam.engine.lease import transport as lease_syncthing
    from session_roam.engine.resume import coordinate, coordinator
    from session_roam.engine.sessions import journal
    from session_roam.engine.syncthing import client as syncthing
    from session_roam.engine.syncthing import syncready
    from session_roam.engine.travel import carry

    gc.freeze()
    gc.enable()
    _EVENTS.append(("import engine.coordinate", started, time.time()))
    for attribute in (
        "pick_session",
        "find_claude",
        "open_coordinator",
        "merge_pending",
        "agent_namespaces",
        "_launch",
        "run_cr",
        "archive_before_launch",
        "sync_here",
        "choose_session",
    ):
        _patch(coordinate, attribute, attribute)
    for attribute in ("acquire", "wait_in_sync", "newer_elsewhere"):
        _patch(coordinator.SyncthingCoordinator, attribute, attribute)
    _patch(coordinator.HeldLease, "release", "release")
    _patch(carry, "place", "companions place")
    _patch(carry, "carry", "companions carry")
    _patch(syncready, "ensure_running", "probe syncthing")
    _patch(journal.Journal, "record", "journal.record")
    _patch(journal.Journal, "note", "journal.note")
    _patch(lease_syncthing.SyncthingTransport, "publish", "publish")
    _patch(syncthing.SyncthingClient, "scan", "scan")
    _patch(syncthing.SyncthingClient, "file_info", "file_info")
    syncthing.SyncthingClient._request = _logged(  # type: ignore[method-assign]
        syncthing.SyncthingClient._request, _rest
    )
    time.sleep = _logged(time.sleep, lambda seconds: f"sleep {seconds:g}")


def main() -> None:
    instrument()
    sys.argv[0] = "roam"
    from session_roam.cli.fast import main as roam_main

    roam_main()


if __name__ == "__main__":
    main()
