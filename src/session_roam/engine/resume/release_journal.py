"""The end of ``roam cr``: release the lease, and journal what claude wrote, at the same time.

The journal's record reads the session as claude left it and appends this node's new lines to
its journal; the lease's release stamps the same bytes, publishes, and waits for the peers. The
two do not depend on each other, so the record runs while the release waits (issue 16: it is
no longer on the path of the hand-over). Its read of the session is over long before a peer
could write there: a peer needs the released lease first, and its turn then has to come back
through Syncthing. The lease matters more than the journal: a journal that cannot be written
is a warning, after the release.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Protocol

from session_roam.engine.core.overlap import in_background

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.sessions.journal import Journal
    from session_roam.engine.sessions.pick import PickedSession

__all__ = ["release_and_journal"]


class Releasable(Protocol):
    def release(self, *, wrote: bool) -> None: ...


def release_and_journal(
    journal: Journal,
    session: PickedSession,
    lease: Releasable | None,
    *,
    launched: bool,
    details: dict[str, object],
    warn: Callable[[str], None],
) -> None:
    """Release ``lease`` (None: nothing to release) and, once claude was ``launched``, journal
    the session and note the release with ``details``; both done when this returns."""
    sid = session.session_id
    recording = (
        in_background(partial(journal.record, session.path, "release", session_id=sid))
        if launched
        else None
    )
    try:
        if lease is not None:
            lease.release(wrote=launched)
    finally:
        if recording is not None:
            try:
                recording.result()
            except OSError as exc:
                warn(f"Could not journal the session: {exc}.")
            journal.note(sid, "release", **details)
