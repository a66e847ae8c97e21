"""``roam`` with every Syncthing REST call counted: ``python -m bench.nodes.counted ARGS``.

Runs the same CLI as ``python -m session_roam``; at exit it writes how many calls of each kind
it made and the seconds spent in them (``{"calls": {"METHOD /path": n}, "seconds": {...}}``)
to the file named by ``ROAM_BENCH_CALLS``. ``bench.nodes.run`` uses it to tell work that grows
with the number of peers (more calls per command) from a machine that is merely busier.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import time
from pathlib import Path
from typing import Any

from session_roam.cli.fast import main
from session_roam.engine.syncthing.client import SyncthingClient

calls: collections.Counter[str] = collections.Counter()
#: Wall seconds spent in each kind of call.
seconds: collections.defaultdict[str, float] = collections.defaultdict(float)
_request = SyncthingClient._request


def _counted(self: SyncthingClient, method: str, path: str, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        return _request(self, method, path, **kwargs)
    finally:
        calls[f"{method} {path}"] += 1
        seconds[f"{method} {path}"] += time.perf_counter() - started


def _write() -> None:
    target = os.environ.get("ROAM_BENCH_CALLS")
    if target:
        Path(target).write_text(json.dumps({"calls": calls, "seconds": seconds}, sort_keys=True))


SyncthingClient._request = _counted  # type: ignore[method-assign]
atexit.register(_write)

if __name__ == "__main__":
    main()
