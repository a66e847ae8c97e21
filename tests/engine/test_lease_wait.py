"""``roam cr --wait`` in the lease: queue behind the holder instead of losing to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from session_roam.engine.lease import api as lease
from session_roam.engine.lease.model import ClaimState
from session_roam.errors import HolderOffline, LeaseHeld, SyncTimeout
from tests.engine.test_lease import SESSION, TTL, Trio

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


@pytest.fixture
def trio(tmp_path: Path) -> Trio:
    return Trio(tmp_path)


def _after_sleeps(trio: Trio, name: str, count: int, then: Callable[[], None]) -> None:
    """Run ``then`` once ``name``'s engine has slept ``count`` times (its flow is waiting)."""
    engine = trio.engines[name]
    slept = 0

    def sleep(seconds: float) -> None:
        nonlocal slept
        trio.clock.sleep(seconds)
        slept += 1
        if slept == count:
            then()

    engine.sleep = sleep


def test_a_waiting_acquisition_wins_once_the_holder_released(trio: Trio) -> None:
    held = trio.acquire("A")
    _after_sleeps(trio, "B", 5, held.release)
    taken = trio.acquire("B", queue=lambda _: None)
    assert taken.claim.state is ClaimState.HELD
    taken.release()


def test_a_waiting_acquisition_says_once_whom_it_waits_for(trio: Trio) -> None:
    held = trio.acquire("A")
    said: list[str] = []
    _after_sleeps(trio, "B", 20, held.release)
    trio.acquire("B", queue=said.append).release()
    assert len(said) == 1
    assert said[0].startswith("Waiting for a (A), which holds session " + SESSION)
    assert said[0].endswith("Ctrl-C stops waiting.")


def test_a_waiting_acquisition_queues_with_a_ticket_taken_after_the_doorway(trio: Trio) -> None:
    held = trio.acquire("A")
    _after_sleeps(trio, "B", 3, held.release)
    trio.acquire("B", queue=lambda _: None).release()
    states = [c.state for c in trio.transports["B"].published]
    # the fast claim, withdrawn through the doorway, then the bakery's ticket, then the win
    assert states[:3] == [ClaimState.CLAIMING, ClaimState.CHOOSING, ClaimState.CLAIMING]
    assert ClaimState.HELD in states


def test_a_waiting_acquisition_still_refuses_a_holder_that_is_offline(trio: Trio) -> None:
    trio.acquire("C")
    trio.net.isolate("C")
    with pytest.raises(HolderOffline):
        trio.acquire("A", queue=lambda _: None)


def test_a_waiting_acquisition_believes_an_expired_holder_only_after_a_barrier(
    trio: Trio,
) -> None:
    trio.acquire("A")  # never renewed: by B's clock it expires while B waits

    def cut_off() -> None:  # ... because A is cut off from B, not because A is gone
        trio.clock.now += TTL + 1
        trio.net.cut("A", "B")

    _after_sleeps(trio, "B", 3, cut_off)
    with pytest.raises(SyncTimeout):
        trio.acquire("B", queue=lambda _: None)
    assert lease.status(SESSION, engine=trio.engines["B"])[-1].state == "released"


def test_a_waiting_acquisition_takes_over_an_expired_holder_that_is_still_connected(
    trio: Trio,
) -> None:
    trio.acquire("A")  # a holder killed with -9: its claim stops changing, its machine is up

    def expire() -> None:
        trio.clock.now += TTL + 1

    _after_sleeps(trio, "B", 3, expire)
    taken = trio.acquire("B", queue=lambda _: None)
    assert taken.claim.state is ClaimState.HELD
    taken.release()


def test_a_waiting_acquisition_refuses_a_claim_that_cannot_be_read(trio: Trio) -> None:
    # an unreadable claim never expires: waiting behind it would never end
    trio.transports["B"].put_raw(SESSION, "A", b"{not a claim")

    def waited_too_long() -> None:
        raise AssertionError("queued behind a claim that cannot be read")

    _after_sleeps(trio, "B", 50, waited_too_long)
    with pytest.raises(LeaseHeld):
        trio.acquire("B", queue=lambda _: None)
