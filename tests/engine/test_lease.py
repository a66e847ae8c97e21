"""The lease API (acquire, renew, release, steal, status) on an in-memory cluster."""

from __future__ import annotations

import json
import os
import signal
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.lease import api as lease
from session_roam.engine.lease.engine import Quorum
from session_roam.engine.lease.model import Claim, ClaimState, parse_claim, serialize_claim
from session_roam.errors import HolderOffline, LeaseHeld, PeerUnreachable, SyncTimeout
from tests.engine.lease_fakes import FakeClock, FakeNet, FakeTransport, make_engine

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.lease.engine import LeaseEngine

SESSION = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"
TTL = 30.0


class Trio:
    """Three nodes A, B, C on one fake net, one clock, engines with their own state."""

    def __init__(self, tmp_path: Path) -> None:
        self.net = FakeNet()
        self.clock = FakeClock()
        self.tmp = tmp_path
        self.transports = {
            name: FakeTransport(self.net, name, tmp_path / name / "projects") for name in "ABC"
        }
        self.engines = {name: self.engine(name) for name in "ABC"}

    def engine(self, name: str) -> LeaseEngine:
        return make_engine(self.transports[name], self.clock, self.tmp / "state")

    def acquire(self, name: str, **kw: object) -> lease.Lease:
        return lease.acquire(SESSION, engine=self.engines[name], ttl_s=TTL, **kw)  # type: ignore[arg-type]  # test passthrough

    def session_file(self, name: str) -> Path:
        path = self.tmp / name / "projects" / "-proj" / f"{SESSION}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


@pytest.fixture
def trio(tmp_path: Path) -> Trio:
    return Trio(tmp_path)


def own_claim(trio: Trio, reader: str, device: str) -> dict[str, object]:
    raw = trio.transports[reader].read_claims(SESSION)[device]
    data: dict[str, object] = json.loads(raw)
    return data


def test_lease_acquire_grants_a_free_session(trio: Trio) -> None:
    held = trio.acquire("A")
    assert held.claim.state is ClaimState.HELD
    assert own_claim(trio, "B", "A")["state"] == "held"
    held.release()


def test_lease_refuses_second_writer_naming_the_holder(trio: Trio) -> None:
    held = trio.acquire("A")
    with pytest.raises(LeaseHeld, match=r"is held by a \(A\) since"):
        trio.acquire("B")
    assert own_claim(trio, "A", "B")["state"] == "released"
    held.release()


def test_lease_is_granted_again_after_release(trio: Trio) -> None:
    trio.acquire("A").release()
    second = trio.acquire("B")
    assert second.claim.ticket > 1
    second.release()


def test_lease_is_granted_with_one_of_three_machines_off(trio: Trio) -> None:
    trio.net.isolate("C")  # A and B are a majority, and C never claimed the session
    held = trio.acquire("A")
    assert held.claim.state is ClaimState.HELD
    assert held.claim.forced_past == ()
    held.release()


def test_lease_refuses_without_a_majority_of_machines(trio: Trio) -> None:
    trio.net.cut("A", "B")
    trio.net.cut("A", "C")
    with pytest.raises(PeerUnreachable, match=r"only 1 of the 3 machines"):
        trio.acquire("A")


def test_lease_refuses_while_an_offline_machine_never_released(trio: Trio) -> None:
    trio.acquire("C")  # C holds, then goes off without releasing
    trio.net.isolate("C")
    with pytest.raises(HolderOffline, match=r"by c \(C\), which is not connected now and never"):
        trio.acquire("A")


def test_lease_offline_holder_still_blocks_after_its_ttl(trio: Trio) -> None:
    trio.acquire("C")
    trio.net.isolate("C")
    with pytest.raises(LeaseHeld):
        trio.acquire("A")
    trio.clock.now += TTL * 10  # expired by A's clock, yet its last turn may never have left C
    with pytest.raises(LeaseHeld, match="never released"):
        trio.acquire("A")


def test_lease_offline_machine_that_released_does_not_block(trio: Trio) -> None:
    trio.acquire("C").release()
    trio.net.isolate("C")
    held = trio.acquire("A")
    assert held.claim.state is ClaimState.HELD
    held.release()


def test_lease_steal_lets_a_machine_past_an_offline_holder(trio: Trio) -> None:
    trio.acquire("C")
    trio.net.isolate("C")
    lease.steal(SESSION, engine=trio.engines["A"])
    held = trio.acquire("A")
    assert held.claim.state is ClaimState.HELD
    held.release()


def test_lease_degraded_mode_republishes_before_every_comparison_read(trio: Trio) -> None:
    trio.net.isolate("C")
    choosing = Claim(SESSION, "B", 0, ClaimState.CHOOSING, TTL, 1)
    trio.transports["A"].put_raw(SESSION, "B", serialize_claim(choosing))
    with pytest.raises(SyncTimeout, match="still choosing"):
        lease.acquire(SESSION, engine=trio.engines["A"], ttl_s=TTL, timeout_s=1.0)
    claiming = [c for c in trio.transports["A"].published if c.state is ClaimState.CLAIMING]
    assert len(claiming) > 5  # one publish, through the barrier, per poll of the choosing peer
    assert [c.counter for c in claiming] == sorted({c.counter for c in claiming})


def test_lease_force_goes_past_an_unreachable_peer_and_records_it(trio: Trio) -> None:
    trio.net.cut("A", "C")
    held = trio.acquire("A", force=True)
    assert held.claim.forced_past == ("C",)
    assert own_claim(trio, "B", "A")["forced_past"] == ["C"]
    held.release()


def test_lease_expires_after_ttl_on_the_readers_clock(trio: Trio) -> None:
    trio.acquire("A")  # never renewed or released: a holder killed with -9
    with pytest.raises(LeaseHeld):
        trio.acquire("B")
    trio.clock.now += TTL + 1
    taken = trio.acquire("B")
    assert taken.claim.state is ClaimState.HELD
    taken.release()


def test_lease_a_fresh_process_counts_a_claim_fresh_until_its_ttl(trio: Trio) -> None:
    trio.acquire("A")
    trio.clock.now += 1000  # B has never looked: no observation yet
    with pytest.raises(LeaseHeld):
        trio.acquire("B")
    trio.clock.now += TTL / 2
    with pytest.raises(LeaseHeld):
        lease.acquire(SESSION, engine=trio.engine("B"), ttl_s=TTL)  # new process, same state
    trio.clock.now += TTL
    lease.acquire(SESSION, engine=trio.engine("B"), ttl_s=TTL).release()


def test_lease_renew_keeps_a_claim_alive_past_its_ttl(trio: Trio) -> None:
    held = trio.acquire("A")
    with pytest.raises(LeaseHeld):
        trio.acquire("B")
    granted = held.claim.counter
    for _ in range(4):
        trio.clock.now += TTL / 3
        held.renew()
    with pytest.raises(LeaseHeld):
        trio.acquire("B")
    assert held.claim.counter >= granted + 4
    held.release()


def test_lease_second_roam_on_the_same_machine_is_refused(trio: Trio) -> None:
    held = trio.acquire("A")
    with pytest.raises(LeaseHeld, match="another roam on this machine"):
        lease.acquire(SESSION, engine=trio.engine("A"), ttl_s=TTL)
    held.release()


def test_lease_claim_of_a_dead_roam_here_is_dead_at_once(trio: Trio) -> None:
    held = trio.acquire("A")
    trio.engines["A"].locks.unlock(held._lock_fd)  # what kill -9 does to the flock
    assert not any(v.live for v in lease.status(engine=trio.engine("A")) if v.is_self)


def test_lease_release_stamps_the_session_files_final_bytes(trio: Trio) -> None:
    path = trio.session_file("A")
    path.write_bytes(b'{"a":1}\n')
    with trio.acquire("A", session_file=path):
        path.write_bytes(b'{"a":1}\n{"b":2}\n')
    stamp = own_claim(trio, "B", "A")["release"]
    assert stamp == {"size": 16, "sha256": lease.file_stamp(path).sha256, "ticket": 1}  # type: ignore[union-attr]  # file exists


def test_lease_release_ships_the_session_file_with_the_stamp(trio: Trio) -> None:
    path = trio.session_file("A")
    with trio.acquire("A", session_file=path):
        path.write_bytes(b"turn\n")
    there = trio.session_file("B")
    assert lease.wait_for_release_stamp(SESSION, there, engine=trio.engines["B"]) is not None


def test_lease_wait_for_release_stamp_times_out_without_those_bytes(trio: Trio) -> None:
    path = trio.session_file("A")
    with trio.acquire("A", session_file=path):
        path.write_bytes(b"turn\n")
    there = trio.session_file("B")
    there.write_bytes(b"older\n")
    with pytest.raises(SyncTimeout, match="last 5 bytes"):
        lease.wait_for_release_stamp(
            SESSION, there, engine=trio.engines["B"], timeout_s=0.05, poll_s=0.01
        )


def test_lease_wait_for_release_stamp_ignores_our_own_stamp(trio: Trio) -> None:
    path = trio.session_file("A")
    with trio.acquire("A", session_file=path):
        path.write_bytes(b"turn\n")
    path.write_bytes(b"")
    assert lease.wait_for_release_stamp(SESSION, path, engine=trio.engines["A"]) is None


def test_lease_context_releases_on_exception(trio: Trio) -> None:
    with pytest.raises(RuntimeError), trio.acquire("A"):
        raise RuntimeError("claude crashed")
    assert own_claim(trio, "C", "A")["state"] == "released"


def test_lease_corrupt_claim_blocks_with_a_clear_message(trio: Trio) -> None:
    trio.transports["A"].put_raw(SESSION, "C", b"{torn")
    with pytest.raises(LeaseHeld, match=r"unreadable lease claim from C .*not JSON"):
        trio.acquire("A")


def test_lease_steal_overrides_the_holder_and_it_notices(trio: Trio) -> None:
    held = trio.acquire("A")
    victim = lease.steal(SESSION, engine=trio.engines["B"])
    assert victim is not None
    assert victim.device == "A"
    taken = trio.acquire("B")
    held.renew()
    assert held.overtaken is not None
    assert held.overtaken.device == "B"
    assert own_claim(trio, "C", "B")["stolen_from"] == "A"
    taken.release()


def test_lease_is_live_while_held_and_not_after_release(trio: Trio) -> None:
    held = trio.acquire("A")
    assert lease.is_live(SESSION, engine=trio.engines["C"])
    held.release()
    assert not lease.is_live(SESSION, engine=trio.engines["C"])


def test_lease_status_lists_every_claim_with_its_holder(trio: Trio) -> None:
    held = trio.acquire("A")
    views = lease.status(engine=trio.engines["B"])
    assert [(v.device, v.state, v.live, v.is_self) for v in views] == [("A", "held", True, False)]
    assert views[0].as_json()["name"] == "a"
    held.release()


def test_lease_release_frees_a_claim_left_by_a_dead_roam(trio: Trio) -> None:
    held = trio.acquire("A")
    trio.engines["A"].locks.unlock(held._lock_fd)
    assert lease.release(SESSION, engine=trio.engine("A"))
    raw = trio.transports["B"].read_claims(SESSION)["A"]
    assert parse_claim(raw, session=SESSION, device="A").state is ClaimState.RELEASED


def test_lease_release_refuses_while_a_roam_here_uses_it(trio: Trio) -> None:
    held = trio.acquire("A")
    with pytest.raises(LeaseHeld, match="is using session"):
        lease.release(SESSION, engine=trio.engine("A"))
    held.release()


def test_lease_refuses_a_live_claim_from_a_machine_that_is_not_a_peer(trio: Trio) -> None:
    stranger = FakeTransport(FakeNet(), "Z", trio.tmp / "Z")
    z_engine = make_engine(stranger, trio.clock, trio.tmp / "state")
    lease.acquire(SESSION, engine=z_engine, ttl_s=TTL)
    trio.transports["A"].put_raw(SESSION, "Z", stranger.read_claims(SESSION)["Z"])
    with pytest.raises(PeerUnreachable, match="Z, which is not a direct peer"):
        trio.acquire("A")


def test_lease_wait_for_release_stamp_skips_a_holder_that_never_released(trio: Trio) -> None:
    path = trio.session_file("A")
    with trio.acquire("A", session_file=path):
        path.write_bytes(b"turn 1\n")
    trio.acquire("A")  # held again, then lost (laptop gone) without a release
    lease.steal(SESSION, engine=trio.engines["B"])
    there = trio.session_file("B")
    there.write_bytes(b"turn 1\nturn 2 that A wrote later\n")
    assert lease.wait_for_release_stamp(SESSION, there, engine=trio.engines["B"]) is None


def test_lease_release_stamp_survives_a_later_acquisition_by_the_same_machine(trio: Trio) -> None:
    path = trio.session_file("A")
    with trio.acquire("A", session_file=path):
        path.write_bytes(b"turn 1\n")
    with trio.acquire("B"):
        pass  # B held without a session file: no new stamp
    again = trio.acquire("A")
    assert again.claim.release is not None
    assert again.claim.release.size == 7
    again.release()


def test_lease_context_releases_on_sigterm(trio: Trio) -> None:
    with pytest.raises(SystemExit) as exited, trio.acquire("A"):
        os.kill(os.getpid(), signal.SIGTERM)
    assert exited.value.code == 128 + signal.SIGTERM
    assert own_claim(trio, "B", "A")["state"] == "released"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_lease_withdraws_its_claim_when_a_peer_never_confirms(
    trio: Trio, monkeypatch: pytest.MonkeyPatch
) -> None:
    eng = trio.engines["A"]
    monkeypatch.setattr(eng, "quorum", lambda **_: Quorum(["B", "C"]))
    trio.net.cut("A", "C")  # C drops away after the connection check
    with pytest.raises(SyncTimeout, match=r"\['C'\] did not confirm"):
        trio.acquire("A")
    assert own_claim(trio, "B", "A")["state"] == "released"
