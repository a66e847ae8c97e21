"""The watch check: does a `roam watch` run on this machine?

`roam setup` installs it as a login service, but a machine set up before, with ``--no-watch``
or without a service manager it could use, has none. Sessions still sync without it, so this
is a warning, not a failure: conflict copies wait for the next roam command to merge them,
`roam cr` starts slower (no cr server, docs/design/cr-server.md), and every reader walks the
sessions folder itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from session_roam.engine.verify.base import ok
from session_roam.engine.verify.model import Finding, Status

if TYPE_CHECKING:
    from session_roam.engine.verify.model import Snapshot

__all__ = ["DIMENSION", "WALK_NOTED_FROM", "check_watch"]

DIMENSION: Final = "watch"
#: From this many sessions the walk each reader makes without a watch is worth naming (~0.2 s
#: at 10,000, ~1 s at 50,000 on a 2-core VM, bench/scale).
WALK_NOTED_FROM: Final = 10_000


def check_watch(snap: Snapshot) -> list[Finding]:
    facts = snap.watch
    if facts is None:  # not gathered (a hand-made snapshot): nothing to say either way
        return ok(DIMENSION, "roam watch was not looked at.")
    if facts.running:
        return ok(DIMENSION, f"roam watch runs here (its login service: {facts.service}).")
    walk = (
        f"; and `roam ls`, `roam cf` and `roam verify` each check all "
        f"{snap.walked_sessions:,} session files before they answer (about a second at 50,000)"
        if snap.walked_sessions >= WALK_NOTED_FROM
        else ""
    )
    return [
        Finding(
            DIMENSION,
            Status.WARN,
            f"No `roam watch` runs here (its login service: {facts.service}): conflict copies "
            f"wait for the next roam command to merge them, and `roam cr` starts slower{walk}.",
            fix="roam watch install",
        )
    ]
