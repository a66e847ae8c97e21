"""The lease rule when the connected machines are not a majority: two machines, no third.

Most clusters are a laptop and a desktop and nothing always on. With one of them closed there
is no majority, and no protocol can rule out two writers while the two cannot see each other.
What roam can promise is that nothing is lost and that the person is not stopped when the facts
say the other side is done. So, by default (``released``), in a folder shared by exactly two
devices, a machine whose peer is not connected is granted the lease *provisionally* when

- every absent machine's last claim it can see is a clean release (or it never claimed the
  session), and
- this machine holds exactly the bytes of the newest release stamp (or wrote the last one).

An absent machine that was holding still refuses, with the facts. If both sides of a partition
are granted provisionally (each saw the other's old release), both write: a fork, which the
merge repairs into one chain. The ``majority`` rule keeps the strict behaviour: refuse without
a majority. With a third device (an always-on Syncthing, a NAS, a small server) a majority is
possible with one machine off, so the provisional grant never applies: one writer is strict
there, whatever the rule (docs/design/lease.md, "Two machines, no third").

Pure: the caller reads the claims and hashes the session file; the simulation calls the same
function.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.lease.model import ClaimView, ReleaseStamp, resolve_steals

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

__all__ = [
    "CONFIG_KEY",
    "DEFAULT_RULE",
    "LeaseRule",
    "Provisional",
    "allows_provisional",
    "newest_stamp",
    "parse_rule",
    "provisional",
]

#: The key in roam's config.toml (``$XDG_CONFIG_HOME/session-roam/config.toml``).
CONFIG_KEY: Final = "lease_rule"


class LeaseRule(enum.StrEnum):
    """What happens when this machine and its connected peers are not a majority."""

    #: Grant provisionally when every absent machine released cleanly and the bytes are here.
    RELEASED = "released"
    #: Refuse (unless --force): one writer is guaranteed, and two machines need each other.
    MAJORITY = "majority"


DEFAULT_RULE: Final = LeaseRule.RELEASED


def allows_provisional(rule: LeaseRule, devices: int) -> bool:
    """May a machine without a majority be granted provisionally? Only two devices, ``released``.

    With three or more devices, a minority that granted itself the session could fork it while
    the majority writes; there the majority rule alone decides.
    """
    return rule is LeaseRule.RELEASED and devices == 2


def parse_rule(value: object) -> LeaseRule | None:
    """The rule a config value names, or None when it names none."""
    try:
        return LeaseRule(value) if isinstance(value, str) else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Provisional:
    """The verdict on a grant without a majority, with the facts people are told.

    ``holder``: an absent machine that never released (refuse, exit 5). ``stamp`` with
    ``stamp_from``: the newest release stamp, whose bytes are not here (refuse: the other
    machine's last turn has not arrived). Otherwise the grant stands, and ``released`` are the
    absent machines' released claims ("alpha is offline; it released this session at 14:02").
    """

    holder: ClaimView | None = None
    stamp: ReleaseStamp | None = None
    stamp_from: ClaimView | None = None
    released: tuple[ClaimView, ...] = ()

    @property
    def granted(self) -> bool:
        return self.holder is None and self.stamp is None


def newest_stamp(views: Iterable[ClaimView]) -> ClaimView | None:
    """The claim carrying the newest release stamp (the highest stamp ticket), if any."""
    stamped = [v for v in views if v.claim is not None and v.claim.release is not None]
    return max(
        stamped,
        key=lambda v: (v.claim.release.ticket if v.claim and v.claim.release else 0, v.device),
        default=None,
    )


def provisional(
    views: Iterable[ClaimView],
    *,
    me: str,
    absent: Collection[str],
    have: ReleaseStamp | None,
) -> Provisional:
    """May ``me`` take the session without a majority, given the claims it sees and its bytes?

    ``have`` is this machine's copy of the session file (size and sha256; None: no file).
    A steal overrides an absent holder, as everywhere else; an unreadable claim of an absent
    machine counts as holding (fail closed).
    """
    resolved = resolve_steals(views)
    released: list[ClaimView] = []
    for view in resolved:
        if view.device not in absent or view.device == me or view.superseded_by is not None:
            continue
        if view.claim is None or view.claim.active:
            return Provisional(holder=view)
        released.append(view)
    newest = newest_stamp(resolved)
    if newest is not None and newest.device != me and newest.claim is not None:
        wanted = newest.claim.release
        assert wanted is not None  # noqa: S101 - newest_stamp picks claims with a stamp
        if have is None or (have.size, have.sha256) != (wanted.size, wanted.sha256):
            return Provisional(stamp=wanted, stamp_from=newest)
    return Provisional(released=tuple(released))
