"""Reading a session's claim files while Syncthing may be replacing one of them.

A Syncthing receiver applies an update by writing ``.syncthing.<name>.tmp``, then removing the
old file (or moving it to the versioner), then renaming the temp into place
(``performFinish`` in ``lib/model/folder_sendrecv.go``, 1.19 to 2.x). For a moment the claim is
not on disk at all. A reader that misses a live claim can grant a session twice, so a listing is
only trusted when it is consistent: every claim it names was read, and no claim is missing
while its temp file exists. Two ways a listing is not:

- the folder was listed with the claim in it, and the claim was gone when opened (the receiver
  created its temp and removed the old file in between; the temp may be missing from the
  listing because it was created after it): list again;
- the listing holds a temp file and not its claim (listed inside the window): list again.

Both retry until ``swap_wait_s``; a claim still missing then is reported with empty bytes,
which the lease treats as an unreadable claim: a live holder (fail closed).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.peer_schema import PeerDataError, read_state_bytes
from session_roam.engine.core.safefs import has_link_below
from session_roam.engine.core.store import SWAP_RETRY_S, syncthing_target

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["SWAP_WAIT_S", "read_claim_files"]

#: How long a listing caught mid-swap is retried before the missing claim counts as unreadable.
SWAP_WAIT_S: Final = 2.0
_CONFLICT: Final = ".sync-conflict-"


def read_claim_files(
    projects: Path,
    folder: Path,
    *,
    swap_wait_s: float = SWAP_WAIT_S,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, bytes]:
    """Device id -> bytes of every claim file in ``folder``, from one consistent listing.

    ``projects`` is the synced folder's root: nothing is read through a link below it, and a
    claim that is a link or oversized reads as empty bytes (unreadable). A missing ``folder``
    has no claims.
    """
    if has_link_below(projects, folder):
        return {}  # never read through a link; the lease refuses to write there, verify reports it
    deadline = clock() + swap_wait_s
    while True:
        found: dict[str, bytes] = {}
        unsettled: set[str] = set()  # claims caught mid-swap: temp listed, or gone when opened
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return {}
        for entry in names:
            if (target := syncthing_target(entry)) is not None:
                # a conflict copy on its way is never a claim (nor is it read below)
                if target.endswith(".json") and _CONFLICT not in target:
                    unsettled.add(target[: -len(".json")])
                continue
            if not entry.endswith(".json") or entry.startswith(".") or _CONFLICT in entry:
                continue
            device = entry[: -len(".json")]
            try:  # bounded, never through a link (engine.peer_schema)
                found[device] = read_state_bytes(folder / entry, projects)
            except FileNotFoundError:
                unsettled.add(device)  # removed after the listing: a receiver is replacing it
            except PeerDataError:
                found[device] = b""  # a link or oversized: unreadable, so held
        missing = unsettled - set(found)
        if not missing:
            return found
        if clock() > deadline:
            return found | dict.fromkeys(missing, b"")
        time.sleep(SWAP_RETRY_S)
