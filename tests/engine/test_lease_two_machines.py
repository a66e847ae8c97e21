"""Two machines and no third (issue 20): the provisional grant after a clean release.

Without a majority the default rule (``released``) lets a machine continue when every absent
machine released the session cleanly and this machine has exactly the released bytes; an absent
holder still refuses, with the facts. ``majority`` keeps the strict refusal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from session_roam.engine.lease import api as lease
from session_roam.engine.lease.model import (
    Claim,
    ClaimState,
    ClaimView,
    ReleaseStamp,
)
from session_roam.engine.lease.rule import LeaseRule, provisional
from session_roam.engine.lease.setup import configured_rule
from session_roam.errors import HolderOffline, InvalidInput, PeerUnreachable
from tests.engine.lease_fakes import FakeClock, FakeNet, FakeTransport, make_engine

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.lease.engine import LeaseEngine

SESSION = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"
STAMP = ReleaseStamp(10, "a" * 64, ticket=3)


class Pair:
    """Alpha (A) and beta (B), one fake net, no always-on third machine."""

    def __init__(self, tmp_path: Path) -> None:
        self.net = FakeNet()
        self.clock = FakeClock()
        self.transports = {n: FakeTransport(self.net, n, tmp_path / n / "projects") for n in "AB"}
        self.engines: dict[str, LeaseEngine] = {
            n: make_engine(t, self.clock, tmp_path / "state") for n, t in self.transports.items()
        }
        self.files = {n: tmp_path / n / "projects" / "-proj" / f"{SESSION}.jsonl" for n in "AB"}
        for path in self.files.values():
            path.parent.mkdir(parents=True)

    def acquire(self, name: str) -> lease.Lease:
        return lease.acquire(
            SESSION, engine=self.engines[name], ttl_s=30.0, session_file=self.files[name]
        )

    def turn(self, name: str, text: str) -> None:
        with self.files[name].open("a") as handle:
            handle.write(text + "\n")


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    return Pair(tmp_path)


def test_two_machines_hand_over_after_a_clean_release_without_force(pair: Pair) -> None:
    alpha = pair.acquire("A")
    pair.turn("A", "alpha's turn")
    alpha.release()  # the stamp and the file reach beta
    pair.net.isolate("A")  # then alpha's lid closes
    beta = pair.acquire("B")
    assert beta.claim.state is ClaimState.HELD
    assert beta.claim.forced_past == ()
    beta.release()


def test_two_machines_grant_says_which_machine_released_it_and_when(pair: Pair) -> None:
    pair.acquire("A").release()
    pair.net.isolate("A")
    beta = pair.acquire("B")
    assert len(beta.notes) == 1
    assert beta.notes[0].startswith("a (A) is offline; it released this session at ")
    beta.release()


def test_two_machines_grant_says_the_other_never_took_the_session(pair: Pair) -> None:
    pair.net.isolate("A")
    beta = pair.acquire("B")
    assert beta.notes == ("a (A) is offline and never took this session",)
    beta.release()


def test_two_machines_refuse_while_the_offline_machine_holds_naming_it_and_since(
    pair: Pair,
) -> None:
    pair.acquire("A")  # alpha holds, and its lid closes
    pair.net.isolate("A")
    with pytest.raises(HolderOffline, match=r"last taken by a \(A\), .* never released it .*since"):
        pair.acquire("B")


def test_two_machines_refuse_when_the_released_bytes_are_not_here(pair: Pair) -> None:
    alpha = pair.acquire("A")
    pair.turn("A", "alpha's turn")
    pair.net.isolate("A")  # the release reaches beta without the file...
    alpha.release()
    pair.net.heal()
    pair.transports["B"].put_raw(SESSION, "A", pair.transports["A"].read_claims(SESSION)["A"])
    pair.net.isolate("A")
    with pytest.raises(PeerUnreachable, match=r"with 13 bytes, but this machine has 0 bytes"):
        pair.acquire("B")


def test_two_machines_under_the_majority_rule_refuse_a_clean_hand_over(pair: Pair) -> None:
    pair.acquire("A").release()
    pair.net.isolate("A")
    pair.engines["B"].rule = LeaseRule.MAJORITY
    with pytest.raises(PeerUnreachable, match=r"only 1 of the 2 machines"):
        pair.acquire("B")


def test_three_machines_without_a_majority_refuse_even_after_a_clean_release(
    tmp_path: Path,
) -> None:
    # A third device makes one writer strict: a minority never grants itself the session.
    net, clock = FakeNet(), FakeClock()
    nodes = {n: FakeTransport(net, n, tmp_path / n) for n in "ABC"}
    engines = {n: make_engine(t, clock, tmp_path / "state") for n, t in nodes.items()}
    lease.acquire(SESSION, engine=engines["A"], ttl_s=30.0).release()
    net.isolate("A")
    net.isolate("C")
    with pytest.raises(PeerUnreachable, match=r"only 1 of the 3 machines"):
        lease.acquire(SESSION, engine=engines["B"], ttl_s=30.0)


def test_two_machines_force_still_takes_over_from_an_offline_holder(pair: Pair) -> None:
    pair.acquire("A")
    pair.net.isolate("A")
    lease.steal(SESSION, engine=pair.engines["B"])
    beta = lease.acquire(SESSION, engine=pair.engines["B"], ttl_s=30.0, force=True)
    assert beta.claim.forced_past == ("A",)
    beta.release()


# --- the rule itself (pure) ------------------------------------------------------------------


def _view(device: str, state: ClaimState, **changes: object) -> ClaimView:
    claim = Claim(SESSION, device, 4, state, 30.0, 1, **changes)  # type: ignore[arg-type]  # test passthrough
    return ClaimView(device, claim)


def test_provisional_grant_needs_the_newest_stamps_bytes() -> None:
    views = [_view("A", ClaimState.RELEASED, release=STAMP)]
    assert provisional(views, me="B", absent={"A"}, have=STAMP).granted
    other = ReleaseStamp(10, "b" * 64)
    assert provisional(views, me="B", absent={"A"}, have=other).stamp == STAMP


def test_provisional_grant_needs_no_bytes_when_this_machine_wrote_last() -> None:
    views = [_view("A", ClaimState.RELEASED), _view("B", ClaimState.RELEASED, release=STAMP)]
    assert provisional(views, me="B", absent={"A"}, have=None).granted


def test_provisional_grant_refuses_an_unreadable_claim_of_an_absent_machine() -> None:
    verdict = provisional([ClaimView("A", None, error="torn")], me="B", absent={"A"}, have=None)
    assert verdict.holder is not None
    assert verdict.holder.device == "A"


def test_provisional_grant_lets_a_steal_override_an_absent_holder() -> None:
    thief = _view("B", ClaimState.RELEASED, stolen_from="A", stolen_below=9)
    verdict = provisional([_view("A", ClaimState.HELD), thief], me="B", absent={"A"}, have=None)
    assert verdict.granted


# --- the configuration -----------------------------------------------------------------------


def test_lease_rule_defaults_to_released_without_a_config_file(tmp_path: Path) -> None:
    assert configured_rule(tmp_path) is LeaseRule.RELEASED


def test_lease_rule_reads_majority_from_config_toml(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('lease_rule = "majority"\n')
    assert configured_rule(tmp_path) is LeaseRule.MAJORITY


def test_lease_rule_rejects_an_unknown_value_naming_both_rules(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('lease_rule = "strict"\n')
    with pytest.raises(InvalidInput, match="not a lease rule") as caught:
        configured_rule(tmp_path)
    assert '"released"' in caught.value.hint
    assert '"majority"' in caught.value.hint


def test_lease_rule_rejects_a_config_file_that_is_not_toml(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("lease_rule = \n")
    with pytest.raises(InvalidInput, match="cannot read its settings"):
        configured_rule(tmp_path)
