"""Which sessions ``roam ls`` shows, in what order: filters by project, machine and date, a sort
and a limit, applied to the summaries before anything is drawn or written."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from session_roam.engine.sessions.listing import LeaseFacts, SessionSummary

__all__ = ["SORTS", "LsQuery", "parse_when"]

SORTS: Final = ("time", "size", "project")
_AGO_RE: Final = re.compile(r"(\d+)([mhdw])")
_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """``2026-05-01``, ``2026-05-01T12:00``, or an age such as ``90m``, ``36h``, ``7d``, ``2w``."""
    now = now or datetime.now(UTC)
    found = _AGO_RE.fullmatch(text.strip())
    if found is not None:
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date: give one as 2026-05-01 or 2026-05-01T12:00, or an age "
            "such as 90m, 36h, 7d or 2w."
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _when(summary: SessionSummary) -> datetime:
    """When a session was last active: its newest row's timestamp, else its file's mtime."""
    if summary.last_activity:
        try:
            found = datetime.fromisoformat(summary.last_activity.replace("Z", "+00:00"))
            return found if found.tzinfo is not None else found.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.fromtimestamp(summary.mtime, UTC)


@dataclass(frozen=True, slots=True)
class LsQuery:
    """``project`` matches a part of the cwd (recorded or mapped) or of the project folder's
    name; ``machine`` a part of the lease holder's or the last writer's name."""

    sort: str = "time"
    limit: int | None = None
    project: str | None = None
    machine: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise InvalidInput(f"--sort takes one of {', '.join(SORTS)}, not {self.sort!r}.")
        if self.limit is not None and self.limit < 1:
            raise InvalidInput(
                f"--limit takes a number of sessions of 1 or more, not {self.limit}."
            )

    @property
    def only_sorts(self) -> bool:
        """No filter: the sort and the limit are all there is to apply."""
        return all(v is None for v in (self.project, self.machine, self.since, self.until))

    def _keeps(self, s: SessionSummary) -> bool:
        if self.project is not None:
            needle = self.project.lower()
            places = (s.cwd or "", s.local_cwd or "", s.project)
            if not any(needle in place.lower() for place in places):
                return False
        if self.machine is not None:
            needle = self.machine.lower()
            if not any(needle in (who or "").lower() for who in (s.lease_holder, s.last_writer)):
                return False
        if self.since is not None or self.until is not None:
            when = _when(s)
            if (self.since is not None and when < self.since) or (
                self.until is not None and when > self.until
            ):
                return False
        return True

    def select(
        self, summaries: Iterable[SessionSummary], facts: Mapping[str, LeaseFacts]
    ) -> Iterator[SessionSummary]:
        """The sessions kept, one at a time, with their lease facts, up to the limit; already
        in ``sort`` order (``stream_summaries`` reads them so)."""
        filtering = any(v is not None for v in (self.project, self.machine, self.since, self.until))
        left = self.limit
        for s in summaries:
            found = facts.get(s.session_id)
            if found is not None:
                s = replace(
                    s,
                    lease_holder=found.holder,
                    last_writer=found.last_writer,
                    claude_running=found.running,
                )
            if filtering and not self._keeps(s):
                continue
            if left is not None:
                if left <= 0:
                    return
                left -= 1
            yield s
