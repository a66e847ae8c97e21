"""A holder killed with -9 is cleared on the next acquisition, and the person is told so (the
bash version's cr said so too): which machine held it, since when, and why it no longer counts."""

from __future__ import annotations

import dataclasses

import pytest

from session_roam.engine.lease.handover import dead_holder_notes
from session_roam.engine.lease.model import ClaimState
from session_roam.errors import LeaseHeld
from tests.engine.test_lease import SESSION, TTL, Trio, trio

__all__ = ["trio"]


def test_a_claim_whose_roam_here_was_killed_is_cleared_with_a_note(trio: Trio) -> None:
    held = trio.acquire("A")
    # what the engine sees once kill -9 has freed the flock (the fakes have no lock folder)
    views = [dataclasses.replace(v, local_dead=True) for v in trio.engines["A"].views(SESSION)]
    notes = dead_holder_notes(views)
    assert len(notes) == 1
    assert notes[0].startswith("Cleared the lease a (A)")
    assert " held at " in notes[0]  # since when
    assert "its roam process on this machine is gone" in notes[0]
    held.release()


def test_a_claim_of_another_machine_not_renewed_is_cleared_with_a_note(trio: Trio) -> None:
    trio.acquire("A")  # never renewed or released
    with pytest.raises(LeaseHeld):
        trio.acquire("B")  # B has seen the claim: its TTL runs on B's clock from here
    trio.clock.now += TTL + 1
    taken = trio.acquire("B")
    assert any("was not renewed for" in note for note in taken.notes)
    taken.release()


def test_a_released_session_is_taken_without_a_note(trio: Trio) -> None:
    trio.acquire("A").release()
    taken = trio.acquire("B")
    assert taken.notes == ()
    taken.release()


def test_our_own_claim_left_by_a_killed_roam_here_is_cleared_with_a_note(trio: Trio) -> None:
    held = trio.acquire("A")
    held.release(stamp=False)
    # what kill -9 leaves behind: the claim still held, this machine's flock free
    trio.transports["A"].write_claim(held.claim.bump(state=ClaimState.HELD))
    again = trio.acquire("A")  # holds the lock now, so the roam that wrote the claim is gone
    assert len(again.notes) == 1
    assert again.notes[0].startswith("Cleared the lease a (A)")
    assert "its roam process on this machine is gone" in again.notes[0]
    again.release()
