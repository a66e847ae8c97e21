"""Lease claims: the file each node writes about one session, and how every node orders them.

Pure: no files, no clock, no Syncthing. The protocol (``lease_protocol``) and the simulation
both decide with these functions and ``lease.bakery``, so what the simulation proves is what
roam runs.

A claim is one node's own file ``.roam/leases/<session>/<device>.json``; nobody else ever writes
it, so Syncthing never sees two writers of one file. Its ``ticket`` is Lamport's bakery number:
``0`` while the node is still choosing, then one above every ticket it could see. Claims are
ordered by ``(ticket, device)``, never by wall-clock time, so clock skew cannot change a winner.
See docs/design/lease.md for the safety argument.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.peer_schema import PeerDataError, load_state, text_field

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "CLAIM_SCHEMA",
    "Claim",
    "ClaimState",
    "ClaimView",
    "Observation",
    "ReleaseStamp",
    "judge",
    "live_views",
    "make_view",
    "next_ticket",
    "order_key",
    "parse_claim",
    "resolve_steals",
    "serialize_claim",
]

#: Bumped only on incompatible changes; a reader refuses (fails closed on) a newer schema.
CLAIM_SCHEMA: Final = 1
_SHA256_RE: Final = re.compile(r"[0-9a-f]{64}")


class ClaimState(enum.StrEnum):
    """Where a claim is in its life.

    ``choosing`` is the bakery's doorway flag: the node announced that it is picking a ticket,
    and anybody comparing tickets must wait until it has one.
    """

    CHOOSING = "choosing"
    CLAIMING = "claiming"
    HELD = "held"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class ReleaseStamp:
    """The session file as the releasing node left it; the next writer waits for these bytes.

    ``ticket`` is the ticket of the holding that wrote it. A claim keeps its last stamp through
    later acquisitions, so the newest stamp anywhere is the one with the highest ticket.
    """

    size: int
    sha256: str
    ticket: int = 0


@dataclass(frozen=True, slots=True)
class Claim:
    """One node's claim on one session, exactly as it is stored in its claim file.

    ``since`` and ``host``/``pid`` are for people reading ``roam lease status``; no decision
    reads a timestamp written by another machine.
    """

    session: str
    device: str
    ticket: int
    state: ClaimState
    ttl_s: float
    counter: int
    since: str = ""
    name: str = ""
    host: str = ""
    pid: int = 0
    forced_past: tuple[str, ...] = ()
    stolen_from: str | None = None
    stolen_below: int = 0
    release: ReleaseStamp | None = None

    @property
    def active(self) -> bool:
        """The node wants or has the session (the bakery's ``number != 0`` or ``choosing``)."""
        return self.state is not ClaimState.RELEASED

    def bump(self, **changes: Any) -> Claim:
        """The next version of this claim: every rewrite changes the counter, so readers see it."""
        return replace(self, counter=self.counter + 1, **changes)


def order_key(claim: Claim) -> tuple[int, str]:
    """The total order every node computes alike: ticket, then device id."""
    return (claim.ticket, claim.device)


def serialize_claim(claim: Claim) -> bytes:
    """Stable JSON (sorted keys), so identical claims are identical bytes."""
    body: dict[str, Any] = {
        "schema": CLAIM_SCHEMA,
        "session": claim.session,
        "device": claim.device,
        "name": claim.name,
        "ticket": claim.ticket,
        "state": claim.state.value,
        "ttl_s": claim.ttl_s,
        "counter": claim.counter,
        "since": claim.since,
        "host": claim.host,
        "pid": claim.pid,
        "forced_past": list(claim.forced_past),
        "stolen_from": claim.stolen_from,
        "stolen_below": claim.stolen_below,
        "release": (
            None
            if claim.release is None
            else {
                "size": claim.release.size,
                "sha256": claim.release.sha256,
                "ticket": claim.release.ticket,
            }
        ),
    }
    return (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode()


class _Corrupt(ValueError):
    pass


def _need(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Corrupt(f"field {key!r} is missing or not a {getattr(kind, '__name__', kind)}")
    return value


@functools.lru_cache(maxsize=512)
def parse_claim(raw: bytes, *, session: str, device: str) -> Claim:
    """Read a claim file, or raise ValueError with the reason in plain words.

    The file must name the session and device its path names: a claim copied into the wrong
    place is as untrustworthy as a torn one. Cached: readers poll the same bytes many times, and
    a ``Claim`` is immutable.
    """
    try:  # bounded: size, depth and shape first (engine.peer_schema)
        data = load_state(raw)
    except PeerDataError as exc:
        raise _Corrupt(str(exc)) from None
    schema = _need(data, "schema", int)
    if schema != CLAIM_SCHEMA:
        raise _Corrupt(f"it uses claim schema {schema}, this roam reads {CLAIM_SCHEMA}")
    if _need(data, "session", str) != session or _need(data, "device", str) != device:
        raise _Corrupt("its session or device does not match where it is stored")
    try:
        state = ClaimState(_need(data, "state", str))
    except ValueError as exc:
        raise _Corrupt(f"its state {data.get('state')!r} is unknown") from exc
    ticket = _need(data, "ticket", int)
    ttl_s = float(_need(data, "ttl_s", (int, float)))
    counter = _need(data, "counter", int)
    if ticket < 0 or counter < 0 or not 0 < ttl_s < 86400 * 7:
        raise _Corrupt("its ticket, counter or TTL is out of range")
    if state is not ClaimState.CHOOSING and state is not ClaimState.RELEASED and ticket == 0:
        raise _Corrupt("it holds or claims without a ticket")
    stamp = data.get("release")
    release = None
    if stamp is not None:
        if not isinstance(stamp, dict):
            raise _Corrupt("its release stamp is not an object")
        size = _need(stamp, "size", int)
        digest = _need(stamp, "sha256", str)
        if size < 0 or not _SHA256_RE.fullmatch(digest):
            raise _Corrupt("its release stamp is malformed")
        release = ReleaseStamp(size, digest, _int_or_zero(stamp.get("ticket")))
    stolen = data.get("stolen_from")
    forced = data.get("forced_past") or []
    return Claim(
        session=session,
        device=device,
        ticket=ticket,
        state=state,
        ttl_s=ttl_s,
        counter=counter,
        since=_text(data, "since"),
        name=_text(data, "name"),
        host=_text(data, "host"),
        pid=_int_or_zero(data.get("pid")),
        forced_past=tuple(str(x) for x in forced) if isinstance(forced, list) else (),
        stolen_from=stolen if isinstance(stolen, str) else None,
        stolen_below=_int_or_zero(data.get("stolen_below")),
        release=release,
    )


def _text(data: Mapping[str, Any], key: str) -> str:
    try:
        return text_field(data, key, required=False)
    except PeerDataError as exc:
        raise _Corrupt(str(exc)) from None


def _int_or_zero(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(frozen=True, slots=True)
class Observation:
    """When this reader last saw a claim's content change, on the reader's monotonic clock.

    ``boot`` ties the clock reading to one boot of this machine: after a reboot the monotonic
    clock restarts, so an observation from before it counts as "first seen now".
    """

    digest: str
    seen_at: float
    boot: str = ""


@dataclass(frozen=True, slots=True)
class ClaimView:
    """A claim as one reader sees it right now: parsed (or why not) and whether it still counts."""

    device: str
    claim: Claim | None
    error: str = ""
    expired: bool = False
    age_s: float = 0.0
    local_dead: bool = False
    superseded_by: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def live(self) -> bool:
        """Counts against everyone else. A corrupt claim counts: we fail closed."""
        if self.superseded_by is not None:
            return False
        if self.claim is None:
            return True
        return (
            self.claim.active
            and not self.expired
            and not self.local_dead
            and self.superseded_by is None
        )


def judge(
    raw: bytes, previous: Observation | None, *, now: float, boot: str = ""
) -> tuple[Observation, float]:
    """The new observation of a claim's bytes and how long (reader's clock) they have not changed.

    Timestamps inside the claim are never used: the writer's clock may be anywhere.
    A claim first seen now is fresh, so a fresh process waits one TTL before calling it expired.
    """
    digest = hashlib.sha256(raw).hexdigest()
    stale = previous is None or previous.digest != digest or previous.boot != boot
    if stale or previous is None or now < previous.seen_at:
        return Observation(digest, now, boot), 0.0
    return previous, max(0.0, now - previous.seen_at)


def make_view(
    raw: bytes,
    *,
    session: str,
    device: str,
    previous: Observation | None,
    now: float,
    boot: str = "",
) -> tuple[ClaimView, Observation]:
    """Parse and judge one claim file's bytes as this reader sees them at ``now``.

    An unreadable file becomes a view without a claim, which ``decide`` treats as a live holder.
    """
    observation, age = judge(raw, previous, now=now, boot=boot)
    try:
        claim = parse_claim(raw, session=session, device=device)
    except ValueError as exc:
        return ClaimView(device, None, error=str(exc), age_s=age), observation
    return ClaimView(device, claim, expired=age > claim.ttl_s, age_s=age), observation


def resolve_steals(views: Iterable[ClaimView]) -> list[ClaimView]:
    """Every view, with ``superseded_by`` set on claims that a steal declared dead."""
    views = list(views)
    # A steal is a permanent fact ("claims of X below ticket T are dead"), whatever state the
    # thief's claim is in now: `roam lease steal` leaves a released claim that still says so.
    thieves = [v.claim for v in views if v.claim is not None and v.claim.stolen_from is not None]
    result: list[ClaimView] = []
    for view in views:
        claim = view.claim
        for thief in thieves:
            # An unreadable claim can only be overridden this way: stealing is the way out.
            below = claim is None or claim.ticket < thief.stolen_below
            if thief.stolen_from == view.device and thief.device != view.device and below:
                view = replace(view, superseded_by=thief.device)
                break
        result.append(view)
    return result


def live_views(views: Iterable[ClaimView]) -> list[ClaimView]:
    """The claims that count against everyone else, steals applied."""
    return [v for v in resolve_steals(views) if v.live]


def next_ticket(views: Iterable[ClaimView]) -> int:
    """One above every ticket visible, released and expired claims included (tickets only grow)."""
    return 1 + max((v.claim.ticket for v in views if v.claim is not None), default=0)
