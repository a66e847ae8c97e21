"""A restarted Syncthing numbers its events from 1 again: the subscription follows it.

The stand-in below answers ``/rest/events`` as Syncthing's ``bufferedSubscription.Since`` does
(lib/events): a poll ``since`` an id the stream has not reached waits (here: returns nothing at
once), else it returns the events after that id, the last ``limit`` of them when asked.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from session_roam.engine.syncthing.events import EventSubscription
from session_roam.engine.syncthing.models import Event
from tests.engine.test_lease_syncthing import SESSION, _Scanning, _transport

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.lease.transport import SyncthingTransport


class _Stream:
    """One events mask of a Syncthing that can be restarted."""

    base_url = "http://127.0.0.1:0"

    def __init__(self, count: int = 0) -> None:
        self.events: list[Event] = []
        self.asked: list[int] = []  # the ``since`` of every request
        self.on_long_poll: list[Any] = []  # called once each, at the next waiting poll
        for _ in range(count):
            self.emit("RemoteIndexUpdated", "VAULT")

    def emit(self, kind: str, device: str) -> None:
        number = len(self.events) + 1
        self.events.append(Event(number, number, kind, "", {"device": device}))

    def restart(self) -> None:
        self.events = []

    def fetch_events(self, _mask: str, since: int, timeout_s: int, limit: int = 0) -> list[Event]:
        self.asked.append(since)
        if timeout_s and self.on_long_poll:
            self.on_long_poll.pop(0)()
        found = [e for e in self.events if e.id > since]
        return found[-limit:] if limit else found


def test_a_subscription_follows_a_restarted_syncthing_to_its_new_stream() -> None:
    stream = _Stream(count=40)
    subscription = EventSubscription(stream, ("RemoteIndexUpdated",))
    stream.restart()
    stream.emit("RemoteIndexUpdated", "ALPHA")
    assert subscription.follow_restart()
    assert [e.data["device"] for e in subscription.poll(0)] == ["ALPHA"]


def test_a_subscription_of_a_restarted_syncthing_with_no_event_yet_follows_it_too() -> None:
    stream = _Stream(count=40)
    subscription = EventSubscription(stream, ("RemoteIndexUpdated",))
    stream.restart()
    assert subscription.follow_restart()
    stream.emit("RemoteIndexUpdated", "ALPHA")
    assert [e.id for e in subscription.poll(0)] == [1]


def test_a_subscription_of_a_syncthing_that_was_not_restarted_keeps_its_cursor() -> None:
    stream = _Stream(count=40)
    subscription = EventSubscription(stream, ("RemoteIndexUpdated",))
    assert not subscription.follow_restart()
    stream.emit("RemoteIndexUpdated", "ALPHA")
    assert [e.id for e in subscription.poll(0)] == [41]


def test_a_fresh_subscription_does_not_ask_whether_syncthing_was_restarted() -> None:
    stream = _Stream()
    subscription = EventSubscription(stream, ("RemoteIndexUpdated",))
    stream.asked.clear()
    assert not subscription.follow_restart()
    assert stream.asked == []


def test_a_quiet_long_poll_on_a_restarted_syncthing_returns_its_new_events_at_once() -> None:
    stream = _Stream(count=40)
    subscription = EventSubscription(stream, ("RemoteIndexUpdated",))

    def restarted_and_confirmed() -> None:
        stream.restart()
        stream.emit("RemoteIndexUpdated", "ALPHA")

    stream.on_long_poll.append(restarted_and_confirmed)
    assert [e.data["device"] for e in subscription.poll(1.0)] == ["ALPHA"]


def test_a_quiet_poll_that_does_not_wait_asks_nothing_more() -> None:
    stream = _Stream(count=3)
    subscription = EventSubscription(stream, ("RemoteIndexUpdated",))
    stream.asked.clear()
    assert subscription.poll(0) == []
    assert stream.asked == [3]


# -- the lease's barrier ----------------------------------------------------------------------


def _restarted_since_the_acquisition(
    tmp_path: Path,
) -> tuple[_Scanning, _Stream, SyncthingTransport]:
    """A transport whose subscription, opened at the acquisition, is 40 events into a Syncthing
    that was restarted since: a release is published to ALPHA, whose confirmation is an event
    of the new stream."""
    client = _Scanning(online={"ALPHA"}, holders={"ME": ["ME"]})
    stream = _Stream(count=40)
    transport = _transport(client, tmp_path)
    transport._subscription = EventSubscription(stream, ("RemoteIndexUpdated",))
    stream.restart()
    stream.asked.clear()

    def confirmed() -> None:
        client.holders["ME"] = ["ME", "ALPHA"]
        stream.emit("RemoteIndexUpdated", "ALPHA")

    stream.on_long_poll.append(confirmed)
    return client, stream, transport


def test_a_release_long_after_the_acquisition_follows_a_restarted_syncthing_before_its_scan(
    tmp_path: Path,
) -> None:
    client, stream, transport = _restarted_since_the_acquisition(tmp_path)
    transport._used = time.monotonic() - 3600  # the acquisition, an hour ago
    claim = SimpleNamespace(session=SESSION, device="ME")
    started = time.monotonic()
    transport.publish(claim, wait_for=lambda: ["ALPHA"], timeout_s=5.0)  # type: ignore[arg-type]
    assert time.monotonic() - started < 0.5
    assert stream.asked == [0, 0]  # the look at the newest event, then the new stream's wait
    assert client.asked.count("file ME") == 2  # before the wait, then woken by ALPHA's event


def test_a_barrier_soon_after_the_last_asks_nothing_about_a_restart(tmp_path: Path) -> None:
    client = _Scanning(online={"ALPHA"}, holders={"ME": ["ME", "ALPHA"]})
    stream = _Stream(count=40)
    transport = _transport(client, tmp_path)
    transport._subscription = EventSubscription(stream, ("RemoteIndexUpdated",))
    stream.asked.clear()
    claim = SimpleNamespace(session=SESSION, device="ME")
    transport.publish(claim, wait_for=lambda: ["ALPHA"], timeout_s=5.0)  # type: ignore[arg-type]
    assert stream.asked == []
