"""Claims, their order, and expiry judged by the reader's own clock."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from session_roam.engine.lease.bakery import Verdict, decide, has_majority
from session_roam.engine.lease.model import (
    Claim,
    ClaimState,
    ClaimView,
    Observation,
    ReleaseStamp,
    judge,
    live_views,
    make_view,
    next_ticket,
    order_key,
    parse_claim,
    serialize_claim,
)

SESSION = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"


def claim(device: str, ticket: int, state: ClaimState = ClaimState.CLAIMING, **kw: object) -> Claim:
    return Claim(
        session=SESSION,
        device=device,
        ticket=ticket,
        state=state,
        ttl_s=30.0,
        counter=1,
        **kw,  # type: ignore[arg-type]  # test helper passes Claim fields through
    )


def view(c: Claim, **kw: object) -> ClaimView:
    return ClaimView(c.device, c, **kw)  # type: ignore[arg-type]  # ClaimView fields


def test_order_key_compares_ticket_before_device() -> None:
    assert order_key(claim("ZZZ", 1)) < order_key(claim("AAA", 2))


def test_order_key_breaks_ticket_ties_by_device_id() -> None:
    assert order_key(claim("AAA", 3)) < order_key(claim("BBB", 3))


def test_decide_lowest_ticket_wins() -> None:
    mine = claim("B", 1)
    assert decide(mine, [view(mine), view(claim("A", 2))]).verdict is Verdict.WIN


def test_decide_loses_to_lower_ticket_and_names_it() -> None:
    mine = claim("A", 2)
    decision = decide(mine, [view(mine), view(claim("B", 1))])
    assert decision.verdict is Verdict.LOSE
    assert decision.blocker is not None
    assert decision.blocker.device == "B"


def test_decide_waits_while_a_peer_is_choosing() -> None:
    mine = claim("A", 1)
    decision = decide(mine, [view(mine), view(claim("B", 0, ClaimState.CHOOSING))])
    assert decision.verdict is Verdict.WAIT
    assert decision.waiting_for == ("B",)


def test_decide_ignores_released_and_expired_claims() -> None:
    mine = claim("B", 5)
    others = [view(claim("A", 1, ClaimState.RELEASED)), view(claim("C", 2), expired=True)]
    assert decide(mine, [view(mine), *others]).verdict is Verdict.WIN


def test_decide_loses_to_a_held_claim_whatever_its_ticket() -> None:
    mine = claim("A", 1)
    decision = decide(mine, [view(mine), view(claim("B", 9, ClaimState.HELD))])
    assert decision.verdict is Verdict.LOSE


def test_decide_fails_closed_on_an_unreadable_claim() -> None:
    mine = claim("A", 1)
    corrupt = ClaimView("B", None, error="it is not JSON")
    decision = decide(mine, [view(mine), corrupt])
    assert decision.verdict is Verdict.LOSE
    assert decision.blocker == corrupt


def test_decide_loses_to_an_absent_machine_that_never_released() -> None:
    mine = claim("A", 3)
    gone = view(claim("C", 1, ClaimState.HELD), expired=True)
    decision = decide(mine, [view(mine), gone], absent={"C"})
    assert decision.verdict is Verdict.LOSE
    assert decision.offline
    assert decision.blocker == gone


def test_decide_loses_to_an_absent_machine_stuck_choosing() -> None:
    mine = claim("A", 3)
    gone = view(claim("C", 0, ClaimState.CHOOSING), expired=True)
    assert decide(mine, [view(mine), gone], absent={"C"}).offline


def test_decide_loses_to_an_absent_machines_unreadable_claim() -> None:
    mine = claim("A", 3)
    decision = decide(mine, [view(mine), ClaimView("C", None, error="torn")], absent={"C"})
    assert decision.verdict is Verdict.LOSE
    assert decision.offline


def test_decide_ignores_an_absent_machine_that_released() -> None:
    mine = claim("A", 3)
    gone = view(claim("C", 1, ClaimState.RELEASED))
    assert decide(mine, [view(mine), gone], absent={"C"}).verdict is Verdict.WIN


def test_decide_ignores_an_absent_holder_that_was_stolen_from() -> None:
    mine = claim("A", 8, stolen_from="C", stolen_below=7)
    gone = view(claim("C", 1, ClaimState.HELD))
    assert decide(mine, [view(mine), gone], absent={"C"}).verdict is Verdict.WIN


def test_decide_without_absent_machines_lets_an_expired_holder_go() -> None:
    mine = claim("A", 3)
    gone = view(claim("C", 1, ClaimState.HELD), expired=True)
    assert decide(mine, [view(mine), gone]).verdict is Verdict.WIN


@pytest.mark.parametrize(
    ("devices", "reachable", "majority"),
    [(2, 1, False), (2, 2, True), (3, 2, True), (3, 1, False), (4, 2, False), (4, 3, True)],
)
def test_has_majority_needs_more_than_half(devices: int, reachable: int, majority: bool) -> None:
    assert has_majority(devices, reachable) is majority


def test_next_ticket_is_above_every_visible_ticket_released_included() -> None:
    views = [view(claim("A", 4, ClaimState.RELEASED)), view(claim("B", 2))]
    assert next_ticket(views) == 5


def test_live_views_steal_kills_only_claims_below_its_ticket() -> None:
    thief = claim("T", 7, ClaimState.RELEASED, stolen_from="V", stolen_below=7)
    old = claim("V", 3, ClaimState.HELD)
    assert [v.device for v in live_views([view(thief), view(old)])] == []
    newer = claim("V", 8, ClaimState.HELD)
    assert [v.device for v in live_views([view(thief), view(newer)])] == ["V"]


def test_live_views_steal_overrides_an_unreadable_claim() -> None:
    thief = claim("T", 7, ClaimState.RELEASED, stolen_from="V", stolen_below=7)
    assert live_views([view(thief), ClaimView("V", None, error="torn")]) == []


def test_claim_round_trips_through_its_file_format() -> None:
    original = claim(
        "A",
        3,
        ClaimState.RELEASED,
        since="2026-11-25T14:00:00+00:00",
        forced_past=("B",),
        stolen_from="C",
        stolen_below=3,
        release=ReleaseStamp(12, "a" * 64),
    )
    assert parse_claim(serialize_claim(original), session=SESSION, device="A") == original


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: "not json at all", "not JSON"),
        (lambda d: {**d, "device": "B"}, "does not match"),
        (lambda d: {**d, "state": "grabbed"}, "unknown"),
        (lambda d: {**d, "ticket": "1"}, "ticket"),
        (lambda d: {**d, "schema": 2}, "schema 2"),
        (lambda d: {**d, "release": {"size": 1, "sha256": "nope"}}, "release stamp"),
        (lambda d: {**d, "state": "held", "ticket": 0}, "without a ticket"),
    ],
)
def test_parse_claim_rejects_damage_with_a_reason(mutate: object, reason: str) -> None:
    good = json.loads(serialize_claim(claim("A", 1)))
    damaged = mutate(good)  # type: ignore[operator]  # parametrized lambdas
    raw = damaged.encode() if isinstance(damaged, str) else json.dumps(damaged).encode()
    with pytest.raises(ValueError, match=reason):
        parse_claim(raw, session=SESSION, device="A")


def test_make_view_of_a_corrupt_file_is_live_with_its_reason() -> None:
    seen, _ = make_view(b"{torn", session=SESSION, device="A", previous=None, now=0.0)
    assert seen.live
    assert seen.claim is None
    assert "not JSON" in seen.error


def test_judge_counts_a_claim_first_seen_now_as_fresh() -> None:
    _, age = judge(b"x", None, now=500.0)
    assert age == 0.0


def test_judge_ages_unchanged_content_on_the_readers_clock() -> None:
    first, _ = judge(b"x", None, now=100.0)
    _, age = judge(b"x", first, now=131.0)
    assert age == 31.0


def test_judge_restarts_the_clock_when_content_changes() -> None:
    first, _ = judge(b"x", None, now=100.0)
    second, age = judge(b"y", first, now=131.0)
    assert age == 0.0
    assert second.seen_at == 131.0


def test_judge_ignores_an_observation_from_another_boot() -> None:
    _, age = judge(
        b"x", Observation(judge(b"x", None, now=0)[0].digest, 0.0, "old"), now=99.0, boot="new"
    )
    assert age == 0.0


def test_make_view_expires_a_claim_unchanged_for_longer_than_its_ttl() -> None:
    raw = serialize_claim(claim("A", 1, ClaimState.HELD))
    first, obs = make_view(raw, session=SESSION, device="A", previous=None, now=0.0)
    later, _ = make_view(raw, session=SESSION, device="A", previous=obs, now=30.5)
    assert first.live
    assert later.expired
    assert not later.live


def test_claim_bump_increments_the_counter() -> None:
    original = claim("A", 1)
    assert original.bump().counter == 2
    assert replace(original.bump(state=ClaimState.HELD), counter=1) == replace(
        original, state=ClaimState.HELD
    )
