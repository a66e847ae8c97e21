"""One writer per session across the cluster: the lease API that ``roam cr`` and friends call.

    with acquire(session_id, session_file=path) as lease:   # LeaseHeld / PeerUnreachable
        run claude ...                                      # renewed in the background
    # released on exit (exceptions and SIGTERM/SIGHUP too) with the file's final size + sha256

The protocol is in ``lease_protocol`` (Lamport's bakery over Syncthing) and is argued safe in
docs/design/lease.md. This module adds the local lock, the rule for two machines and no third,
and the messages people read; the granted lease itself (renewing, the release stamp) is
``lease.granted``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.paths import validate_session_id
from session_roam.engine.lease.granted import RELEASE_WAIT_S, Lease, now_iso
from session_roam.engine.lease.handover import (
    bytes_missing,
    dead_holder_notes,
    handover_notes,
    holder_label,
    when,
)
from session_roam.engine.lease.model import (
    Claim,
    ClaimState,
    ClaimView,
    ReleaseStamp,
    live_views,
    resolve_steals,
)
from session_roam.engine.lease.protocol import Lost, acquire_flow, steal_flow
from session_roam.engine.lease.rule import provisional
from session_roam.engine.lease.setup import (
    engine_for,
    engine_scope,
    open_engine,
    shared_by_syncthing,
)
from session_roam.engine.lease.stamp import file_stamp, wait_for_release_stamp
from session_roam.errors import (
    HolderOffline,
    LeaseHeld,
    PeerUnreachable,
    SyncthingConfigMissing,
    SyncTimeout,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from session_roam.engine.lease.engine import LeaseEngine, Quorum

    #: ``acquire(queue=...)``: hears, once, the sentence that says whom the wait is behind.
    Queue = Callable[[str], None]

__all__ = [
    "DEFAULT_TTL_S",
    "Lease",
    "LeaseView",
    "acquire",
    "engine_for",
    "file_stamp",
    "held_check",
    "holder_label",
    "is_live",
    "open_engine",
    "release",
    "status",
    "steal",
    "wait_for_release_stamp",
    "when",
]

log = logging.getLogger(__name__)

#: A claim not renewed for this long (reader's clock) is dead: kill -9 frees a session this fast.
DEFAULT_TTL_S: Final = 30.0


def _offline_error(session: str, view: ClaimView) -> HolderOffline:
    claim = view.claim
    state = "an unreadable claim" if claim is None else f"its claim is still {claim.state.value}"
    since = f" since {when(claim.since)}" if claim is not None and claim.since else ""
    who = holder_label(view)
    return HolderOffline(
        f"Session {session} was last taken by {who}, which is not connected now and never "
        f"released it ({state}{since}): it may still be writing, or its last turn never left it.",
        hint=f"Bring {who} online and try again; if it is gone for good, "
        f"`roam cr --force {session}` resumes the copy here (recorded; anything it wrote later "
        "is merged in when it returns).",
    )


def _held_error(session: str, view: ClaimView) -> LeaseHeld:
    claim = view.claim
    if claim is None:
        return LeaseHeld(
            f"Session {session} has an unreadable lease claim from {view.device[:7]} "
            f"({view.error}); roam treats it as held.",
            hint=f"If that machine is not using it, run `roam lease steal {session}`.",
        )
    verb = "is held by" if claim.state is ClaimState.HELD else "is being claimed by"
    since = f" since {claim.since}" if claim.since else ""
    return LeaseHeld(f"Session {session} {verb} {holder_label(view)}{since}.")


@dataclass(frozen=True, slots=True)
class LeaseView:
    """One claim as ``roam lease status`` shows it."""

    session: str
    device: str
    name: str
    state: str
    ticket: int
    live: bool
    expired: bool
    age_s: float
    since: str
    is_self: bool
    stolen_from: str | None
    superseded_by: str | None
    forced_past: tuple[str, ...]
    release: ReleaseStamp | None
    error: str

    def as_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["release"] = (
            None
            if self.release is None
            else {"size": self.release.size, "sha256": self.release.sha256}
        )
        data["forced_past"] = list(self.forced_past)
        return data


def _lease_view(session: str, view: ClaimView, live: bool, me: str) -> LeaseView:
    claim = view.claim
    return LeaseView(
        session=session,
        device=view.device,
        name="" if claim is None else (claim.name or claim.host),
        state="unreadable" if claim is None else claim.state.value,
        ticket=0 if claim is None else claim.ticket,
        live=live,
        expired=view.expired or view.local_dead,
        age_s=round(view.age_s, 1),
        since="" if claim is None else claim.since,
        is_self=view.device == me,
        stolen_from=None if claim is None else claim.stolen_from,
        superseded_by=view.superseded_by,
        forced_past=() if claim is None else claim.forced_past,
        release=None if claim is None else claim.release,
        error=view.error,
    )


def _base_claim(engine: LeaseEngine, session: str, ttl_s: float, forced: tuple[str, ...]) -> Claim:
    return Claim(
        session=session,
        device=engine.device_id,
        ticket=0,
        state=ClaimState.CHOOSING,
        ttl_s=ttl_s,
        counter=0,
        since=now_iso(),
        name=engine.transport.device_name(),
        host=socket.gethostname(),
        pid=os.getpid(),
        forced_past=forced,
    )


def acquire(
    session_id: str,
    *,
    force: bool = False,
    timeout_s: float = 30.0,
    ttl_s: float = DEFAULT_TTL_S,
    session_file: Path | None = None,
    stamp_timeout_s: float | None = 30.0,
    engine: LeaseEngine | None = None,
    queue: Queue | None = None,
) -> Lease:
    """Become the one writer of ``session_id`` or raise; the Lease is already renewing.

    Raises LeaseHeld (another machine, or another roam here, has it), PeerUnreachable (a peer
    is not connected and ``force`` is off), SyncTimeout. With ``session_file`` and
    ``stamp_timeout_s``, it also waits until this machine has the bytes the previous holder
    released (``wait_for_release_stamp``) before returning. With ``queue`` it waits behind a
    connected holder instead of raising LeaseHeld (``roam cr --wait``), for as long as it holds
    (``timeout_s`` then bounds only a barrier's wait for a peer).
    """
    session = validate_session_id(session_id)
    wait = _Wait(force, timeout_s, ttl_s, session_file, stamp_timeout_s, queue)
    if engine is not None:
        return _acquire(session, engine, False, wait)
    owned = open_engine()
    try:
        return _acquire(session, owned, True, wait)
    except BaseException:
        owned.close()
        raise


@dataclass(frozen=True, slots=True)
class _Wait:
    """How one acquisition waits (``acquire``'s options)."""

    force: bool
    timeout_s: float
    ttl_s: float
    session_file: Path | None
    stamp_timeout_s: float | None
    queue: Queue | None


def _acquire(session: str, engine: LeaseEngine, owns_engine: bool, how: _Wait) -> Lease:
    force, ttl_s, session_file, stamp_timeout_s = (
        how.force, how.ttl_s, how.session_file, how.stamp_timeout_s
    )  # fmt: skip
    fd = engine.locks.try_lock(session)
    if fd is None:
        raise LeaseHeld(
            f"Session {session} is already open in another roam on this machine "
            f"(pid {engine.locks.holder_pid(session)}).",
            hint="Finish it there first; `roam lease status` shows every claim.",
        )
    try:
        quorum = engine.quorum(force=force, session=session)
        notes = _check_provisional(engine, session, quorum, session_file)
        dead = dead_holder_notes(engine.views(session), locked_here=engine.device_id)
        notes = (*dead, *notes)  # the old cr said so too
        base = _base_claim(engine, session, ttl_s, quorum.forced)
        result = engine.run(
            acquire_flow(base, absent=quorum.absent, wait=how.queue is not None),
            session=session,
            wait_for=quorum.wait_for,
            timeout_s=how.timeout_s if how.queue is None else math.inf,
            on_queued=None if how.queue is None else _queued_note(session, how.queue),
        )
    except BaseException:
        engine.locks.unlock(fd)
        raise
    if isinstance(result, Lost):
        engine.locks.unlock(fd)
        if result.offline:
            raise _offline_error(session, result.blocker)
        raise _held_error(session, result.blocker)
    lease = Lease(engine, result.claim, fd, session_file, owns_engine=owns_engine).start()
    lease.notes = notes
    if session_file is not None and stamp_timeout_s is not None:
        try:
            wait_for_release_stamp(session, session_file, timeout_s=stamp_timeout_s, engine=engine)
        except BaseException:
            lease.release(stamp=False)
            raise
    return lease


def _queued_note(session: str, say: Queue) -> Callable[[ClaimView | None], None]:
    def queued(blocker: ClaimView | None) -> None:
        who = "a machine whose claim cannot be read" if blocker is None else holder_label(blocker)
        claim = None if blocker is None else blocker.claim
        since = f" since {when(claim.since)}" if claim is not None and claim.since else ""
        doing = "holds" if claim is not None and claim.state is ClaimState.HELD else "is next for"
        say(f"Waiting for {who}, which {doing} session {session}{since}; Ctrl-C stops waiting.")

    return queued


def _check_provisional(
    engine: LeaseEngine, session: str, quorum: Quorum, session_file: Path | None
) -> tuple[str, ...]:
    """Without a majority (``lease_rule``): refuse unless the absent machines are done and their
    last bytes are here; otherwise the one line per absent machine that says why we may go on."""
    if not quorum.provisional:
        return ()
    have = file_stamp(session_file) if session_file is not None else None
    verdict = provisional(
        engine.views(session), me=engine.device_id, absent=quorum.absent, have=have
    )
    if verdict.holder is not None:
        raise _offline_error(session, verdict.holder)
    if verdict.stamp is not None and verdict.stamp_from is not None:
        raise bytes_missing(session, verdict.stamp, verdict.stamp_from, have)
    notes = handover_notes(verdict, engine.transport.peers(), quorum.absent)
    for note in notes:
        log.info("%s", note)
    return notes


def status(session_id: str | None = None, *, engine: LeaseEngine | None = None) -> list[LeaseView]:
    """Every claim this machine can see (of one session, or all), judged now."""
    with engine_scope(engine) as eng:
        sessions = [validate_session_id(session_id)] if session_id else eng.transport.sessions()
        result: list[LeaseView] = []
        for session in sessions:
            views = resolve_steals(eng.views(session))
            result.extend(_lease_view(session, v, v.live, eng.device_id) for v in views)
        if not result:
            return result
        # one name per machine, as every command shows it; a claim's own name is the fallback
        names = {p.device_id: p.name for p in eng.transport.peers() if p.name}
        names[eng.device_id] = eng.transport.device_name() or ""
        return [replace(v, name=names.get(v.device) or v.name) for v in result]


def is_live(session_id: str, *, engine: LeaseEngine | None = None) -> bool:
    """Is anybody (this machine included) holding or claiming the session right now?"""
    with engine_scope(engine) as eng:
        return bool(live_views(eng.views(validate_session_id(session_id))))


def held_check(claude_dir: Path | None = None) -> Callable[[str], bool]:
    """A predicate for commands that rewrite a session file: is its lease live anywhere?

    With no Syncthing set up on this machine, or one that does not share this Claude dir's
    projects folder, there is no cluster and so no lease to respect.
    An unreadable claim, or a Syncthing that is set up but not answering, raises: rewriting a
    session someone may be appending to is exactly what the lease exists to prevent.
    """

    def held(session_id: str) -> bool:
        if not shared_by_syncthing(claude_dir):
            return False
        try:
            engine = open_engine(claude_dir)
        except SyncthingConfigMissing:
            return False
        with engine:
            return is_live(session_id, engine=engine)

    return held


def release(session_id: str, *, engine: LeaseEngine | None = None) -> bool:
    """Release this machine's claim left behind (say, by a crashed roam). False: nothing to do."""
    session = validate_session_id(session_id)
    with engine_scope(engine) as eng:
        return _release_left_behind(session, eng)


def _release_left_behind(session: str, engine: LeaseEngine) -> bool:
    fd = engine.locks.try_lock(session)
    if fd is None:
        raise LeaseHeld(
            f"A roam process on this machine (pid {engine.locks.holder_pid(session)}) is using "
            f"session {session}; it releases the lease when it ends.",
            hint="End that process (or its claude) instead of releasing its lease.",
        )
    try:
        mine = [v for v in engine.views(session) if v.device == engine.device_id and v.claim]
        if not mine or mine[0].claim is None or not mine[0].claim.active:
            return False
        claim = mine[0].claim.bump(state=ClaimState.RELEASED)
        engine.transport.write_claim(claim)
        peers = [p.device_id for p in engine.transport.peers() if p.connected]
        with contextlib.suppress(SyncTimeout, PeerUnreachable):
            engine.transport.publish(claim, wait_for=peers, timeout_s=RELEASE_WAIT_S)
        return True
    finally:
        engine.locks.unlock(fd)


def steal(
    session_id: str, *, timeout_s: float = 30.0, engine: LeaseEngine | None = None
) -> ClaimView | None:
    """Declare the current holder's claim dead, on the record; returns the claim we overrode.

    Goes past unreachable peers (and records them): stealing is for when the holder is gone.
    The old holder's renew loop, or its next roam command, warns that it was overtaken.
    """
    session = validate_session_id(session_id)
    with engine_scope(engine) as eng:
        quorum = eng.quorum(force=True, warn=False)  # the steal itself is the loud part
        base = _base_claim(eng, session, DEFAULT_TTL_S, quorum.forced)
        result = eng.run(
            steal_flow(base), session=session, wait_for=quorum.wait_for, timeout_s=timeout_s
        )
    if isinstance(result, Lost):
        log.warning("Stole session %s from %s.", session, holder_label(result.blocker))
        return result.blocker
    return None
