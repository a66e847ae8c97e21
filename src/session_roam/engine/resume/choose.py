"""Which session ``roam cr`` resumes, chosen on what the cluster has rather than on what is here.

``engine.pick`` chooses among this machine's files. Right after a wake those can be behind: a
session another machine started meanwhile is in the peers' index, not yet here, and "the
newest session here" is an older one. So, unless ``--force``, roam first makes sure it knows
the cluster's state of the folder (``engine.awareness``) and only then picks; for a session
asked for by id, prefix or name that is not here, it waits the same way instead of failing at
once. When no other machine can be reached within the bound, it says so and what it would
resume from this machine's files, and goes ahead only with ``--offline``.

With no session of this directory anywhere (once the cluster confirms it, or when this machine
does not sync), ``roam cr`` starts a new conversation, as ``claude -c`` did: it is given ``new``,
which makes the new session to start; with nobody reachable to confirm it, it says so and
starts one too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from session_roam.engine.sessions.pick import NoSessionHere
from session_roam.errors import PeerUnreachable, SessionNotFound, SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.resume.awareness import Awareness
    from session_roam.engine.resume.safe import ResumeUI
    from session_roam.engine.sessions.pick import PickedSession

__all__ = ["ClusterView", "choose_session", "what_is_here"]

_OFFLINE_HINT = "or run `roam cr --offline` to resume it from this machine's files anyway"


class ClusterView(Protocol):
    """The part of the coordinator that knows what the cluster has."""

    def await_cluster(
        self, scope: Callable[[str], bool], *, timeout_s: float, on_wait: Callable[[str], None]
    ) -> Awareness: ...

    def go_offline(self) -> None:
        """Take the lease past the unreachable machines (on the record) and wait for nobody."""
        ...


def _local(pick: Callable[[], PickedSession]) -> PickedSession | None:
    try:
        return pick()
    except SessionNotFound:
        return None


_NEW = "starting a new conversation, as `claude -c` does when there is none."


def _or_new(
    pick: Callable[[], PickedSession],
    new: Callable[[], PickedSession] | None,
    ui: ResumeUI,
    notice: str,
) -> PickedSession:
    """``pick()``, or when this directory has no session, ``new()`` with ``notice`` said."""
    try:
        return pick()
    except NoSessionHere:
        if new is None:
            raise
    ui.info(notice)
    return new()


def _here(local: PickedSession | None, query: str | None) -> str:
    """What roam would resume from this machine's files alone, in a sentence or two."""

    if local is None:
        if query:
            return f"This machine has no session matching {query!r}."
        return "This machine has no session of this directory."
    title = f" ({local.title})" if local.title else ""
    return (
        f"From this machine's files alone it would resume {local.session_id}{title}. "
        f"{what_is_here(local)}"
    )


def choose_session(
    pick: Callable[[], PickedSession],
    *,
    cluster: ClusterView | None,
    scope: Callable[[str], bool],
    query: str | None,
    force: bool,
    offline: bool,
    timeout_s: float,
    ui: ResumeUI,
    offline_hint: str = _OFFLINE_HINT,
    new: Callable[[], PickedSession] | None = None,
) -> PickedSession:
    """``pick()`` once this machine knows what the cluster has; refuse, naming what is here,
    when it cannot know (PeerUnreachable when no machine answered, SyncTimeout otherwise).

    ``new`` (``roam cr``): the new session to start, with a notice, when no machine has a
    session of this directory, or none can be reached to ask (then a warning).
    """
    if cluster is None or force:
        why = (
            "the other machines were not asked (--force)" if force else "this machine does not sync"
        )
        return _or_new(pick, new, ui, f"No session of this directory here ({why}): {_NEW}")
    if query:
        local = _local(pick)
        if local is not None:  # known here: lease and release stamp bring its newest bytes
            return local
    seen = cluster.await_cluster(scope, timeout_s=timeout_s, on_wait=ui.waiting)
    if seen.complete:
        return _or_new(pick, new, ui, f"No machine has a session of this directory yet: {_NEW}")
    local = _local(pick)
    if not seen.indexed:
        missing = seen.missing()
        if local is None and query is None and new is not None:
            ui.warn(
                f"No other machine could be reached ({missing}), so roam cannot tell whether "
                "one of them has a session of this directory: starting a new conversation here."
            )
            cluster.go_offline()
            return new()
        if offline and local is not None:
            ui.warn(
                f"No other machine could be reached ({missing}): resuming {local.session_id} "
                "from this machine's files, which may not be the newest (--offline)."
            )
            cluster.go_offline()
            return local
        raise PeerUnreachable(
            f"No other machine could be reached within {timeout_s:g} s ({missing}), so roam "
            "cannot tell whether one of them has a newer session. " + _here(local, query),
            hint="Connect one of them (`roam status` shows who is missing), "
            + (offline_hint + "." if local is not None else "then run this again."),
        )
    arriving = f"{len(seen.arriving)} announced files not here yet" if seen.arriving else ""
    raise SyncTimeout(
        f"After {timeout_s:g} s this machine still does not know everything the others have "
        f"({seen.missing() or arriving}). " + _here(local, query),
        hint="Check `roam status` and run this again, or pass a longer --timeout; "
        "`roam cr --force` resumes without waiting (on the record).",
    )


def what_is_here(session: PickedSession) -> str:
    """What this machine's copy of a session holds, for a person deciding whether to --force."""
    from session_roam.engine.core.store import find_session_files
    from session_roam.engine.sessions.listing import summarize

    summary = summarize(find_session_files(session.project_dir, session.session_id))
    if summary is None or not summary.turns:
        return "This machine has no turn of it yet."
    turns = "1 turn" if summary.turns == 1 else f"{summary.turns} turns"
    when = f", at {summary.last_activity}," if summary.last_activity else ""
    last = f"; the last{when} was {summary.last_prompt!r}" if summary.last_prompt else ""
    return f"This machine has {turns} of it{last}."
