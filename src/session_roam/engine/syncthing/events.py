"""Waiting for Syncthing events without missing the one that answers the question.

Syncthing creates an event subscription on the first request with a given ``events=`` mask and
never replays older events to it, and event ids count per mask. So a subscription is opened
BEFORE the action whose consequences we wait for, and its cursor only ever moves forward.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Protocol

from session_roam.errors import SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.syncthing.models import Event

__all__ = ["EventSource", "EventSubscription"]


class EventSource(Protocol):
    """What a subscription needs of a client (``SyncthingClient`` is one); no import of it here."""

    @property
    def base_url(self) -> str: ...

    def fetch_events(self, mask: str, since: int, timeout_s: int, limit: int = 0) -> list[Event]:
        """Events of ``mask`` after ``since``, waiting up to ``timeout_s`` for the first."""
        ...


class EventSubscription:
    """A cursor over one ``events=`` mask; ``wait_for`` long-polls until a match or a deadline."""

    def __init__(self, client: EventSource, event_types: tuple[str, ...]) -> None:
        self._client = client
        self._mask = ",".join(event_types)
        newest = client.fetch_events(self._mask, since=0, timeout_s=0, limit=1)
        self._since = max((e.id for e in newest), default=0)

    def __repr__(self) -> str:
        return f"EventSubscription({self._client.base_url!r}, {self._mask!r})"

    def poll(self, timeout_s: float = 0.0) -> list[Event]:
        """Events after the cursor, waiting up to ``timeout_s`` for the first one.

        A long poll that ends with none asks whether Syncthing was restarted meanwhile
        (``follow_restart``); if so, the new stream's events are returned at once.
        """
        wait = max(0, math.ceil(timeout_s))
        events = self._client.fetch_events(self._mask, self._since, wait)
        if events:
            self._since = max(e.id for e in events)
        elif wait and self.follow_restart():
            return self.poll(0)
        return events

    def follow_restart(self) -> bool:
        """Move the cursor to the start of a restarted Syncthing's event stream; True if it did.

        A restarted Syncthing numbers the events of a mask from 1 again, and a long poll
        ``since`` an id it has not reached yet waits until it does (``Since`` in its
        lib/events): our cursor, ahead of the new stream, would sleep through every event of
        it. The sign is its newest event below the cursor, or none at all (one request, no
        wait). Every event of the new stream came after the restart, so after all that was
        read: the cursor goes back to 0 and misses none the stream still holds.
        """
        if self._since == 0:
            return False
        newest = self._client.fetch_events(self._mask, since=0, timeout_s=0, limit=1)
        if max((e.id for e in newest), default=0) >= self._since:
            return False
        self._since = 0
        return True

    def wait_for(
        self, predicate: Callable[[Event], bool], *, timeout_s: float, what: str = "an event"
    ) -> Event:
        """The first event after the cursor that satisfies ``predicate``; SyncTimeout otherwise."""
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            for event in self.poll(min(remaining, 60.0)):
                if predicate(event):
                    return event
        raise SyncTimeout(
            f"Syncthing at {self._client.base_url} did not report {what} within {timeout_s:g} s."
        )

    def wait_remote_index_updated(self, device: str, folder: str, *, timeout_s: float) -> Event:
        """Wait until ``device`` announces it has our latest index for ``folder``.

        The earliest sign that the peer heard of my change (about 3 ms after the scan on
        loopback), but only a wake-up: on 1.29 it can arrive before the peer wrote the bytes,
        so "the peer has it" is confirmed with ``/rest/db/file`` availability (lease/transport).
        """
        return self.wait_for(
            lambda e: (
                e.type == "RemoteIndexUpdated"
                and e.data.get("device") == device
                and e.data.get("folder") == folder
            ),
            timeout_s=timeout_s,
            what=f"RemoteIndexUpdated from {device[:7]} for folder {folder!r}",
        )
