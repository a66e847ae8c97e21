"""The release stamp: the exact bytes a session file had when its writer let go.

The next writer waits for those bytes before it appends, so it never continues a stale copy
(and never makes Syncthing choose between two versions of the file).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from typing import TYPE_CHECKING

from session_roam.engine.core.paths import validate_session_id
from session_roam.engine.core.safefs import LinkRefused, open_nofollow
from session_roam.engine.lease.model import ClaimState, ReleaseStamp
from session_roam.engine.lease.setup import engine_scope
from session_roam.errors import SyncTimeout

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.lease.engine import LeaseEngine

__all__ = ["file_stamp", "wait_for_release_stamp"]

log = logging.getLogger(__name__)


def file_stamp(path: Path) -> ReleaseStamp | None:
    """Size and sha256 of a session file as it is now; None when there is no file."""
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(open_nofollow(path, os.O_RDONLY), "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except (FileNotFoundError, LinkRefused):  # a symlink is no session file (engine.safefs)
        return None
    return ReleaseStamp(size, digest.hexdigest())


def _holds_bytes(path: Path, wanted: ReleaseStamp) -> bool:
    """True when the file begins with exactly the released bytes.

    A session file only grows, so a longer file that starts with them holds everything the
    releaser wrote; the rest is a later write, such as the late turn of a holder that was taken
    over (merged by ``engine/conflicts/forks.py``). Waiting for equality would wait for ever there.
    """
    digest = hashlib.sha256()
    left = wanted.size
    try:
        with os.fdopen(open_nofollow(path, os.O_RDONLY), "rb") as handle:
            while left > 0 and (chunk := handle.read(min(left, 1 << 20))):
                digest.update(chunk)
                left -= len(chunk)
    except (FileNotFoundError, LinkRefused):
        return False
    return left == 0 and digest.hexdigest() == wanted.sha256


def wait_for_release_stamp(
    session_id: str,
    session_file: Path,
    *,
    timeout_s: float = 30.0,
    engine: LeaseEngine | None = None,
    poll_s: float = 0.05,
) -> ReleaseStamp | None:
    """Block until the local session file has exactly the bytes its last holder released.

    The stamp is the one written by the latest holding (highest ticket). There is nothing to
    wait for when it is this machine's own, when there is none, or when a later holder never
    released (killed, or stolen from: its last bytes are unknown). SyncTimeout names the size
    it was waiting for.
    """
    session = validate_session_id(session_id)
    with engine_scope(engine) as scoped:
        return _wait_for_stamp(session, session_file, scoped, timeout_s, poll_s)


def _wait_for_stamp(
    session: str, session_file: Path, engine: LeaseEngine, timeout_s: float, poll_s: float
) -> ReleaseStamp | None:
    claims = [v.claim for v in engine.views(session) if v.claim is not None]
    stamped = [c for c in claims if c.release is not None]
    latest = max(stamped, key=lambda c: c.release.ticket if c.release else 0, default=None)
    if latest is None or latest.release is None or latest.device == engine.device_id:
        return None  # nobody released a stamp, or this machine wrote last: its bytes are here
    wanted = latest.release
    vanished = [
        c
        for c in claims
        if c.device != engine.device_id and c.state is ClaimState.HELD and c.ticket > wanted.ticket
    ]
    if vanished:
        # A later holder never released (killed, or stolen from): its last bytes are unknown.
        log.warning(
            "Session %s was last held by %s, which never released it; not waiting for bytes.",
            session,
            vanished[0].name or vanished[0].device[:7],
        )
        return None
    deadline = time.monotonic() + timeout_s
    while not _holds_bytes(session_file, wanted):
        if time.monotonic() > deadline:
            raise SyncTimeout(
                f"This machine did not receive the last {wanted.size if wanted else 0} bytes "
                f"of session {session} from {latest.name or latest.device[:7]} within "
                f"{timeout_s:g} s.",
            )
        time.sleep(poll_s)
    return wanted
