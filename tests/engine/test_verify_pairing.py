"""What verify says about pairing: machines asking to pair, folders offered, peers that are off,
peers that never ran roam, and counts that say what they counted (hand-made snapshots)."""

from __future__ import annotations

import dataclasses

from session_roam.engine.syncthing.pending import PendingDevice, PendingFolder
from session_roam.engine.verify.checks import run_checks
from session_roam.engine.verify.model import Finding, PeerFacts, Snapshot, Status, VerifyReport
from tests.engine.test_verify_checks import ME, PEER, healthy, statuses

KNOCKER = "CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC"


def _findings(snap: Snapshot, dimension: str) -> list[Finding]:
    return [f for f in run_checks(snap) if f.dimension == dimension]


def test_a_machine_asking_to_pair_is_named_with_the_command_that_accepts_it() -> None:
    knock = PendingDevice(KNOCKER, "gamma", "127.0.0.1:40000", "2026-12-06T20:00:00Z")
    snap = dataclasses.replace(healthy(), pending=(knock,))
    (finding,) = _findings(snap, "peers")
    assert finding.status is Status.WARN
    assert (
        "CCCCCCC ('gamma') asks to pair with this machine from 127.0.0.1:40000" in finding.message
    )
    assert "since 2026-12-06T20:00:00Z" in finding.message
    assert finding.fix == f"roam peers accept {KNOCKER}"


def test_a_machine_asking_to_pair_does_not_fail_verify() -> None:
    knock = PendingDevice(KNOCKER, "gamma", "", "")
    assert not VerifyReport(run_checks(dataclasses.replace(healthy(), pending=(knock,)))).failed


def test_a_machine_asking_to_pair_is_named_even_with_no_peers_yet() -> None:
    knock = PendingDevice(KNOCKER, "gamma", "", "")
    snap = dataclasses.replace(healthy(), peers=(), pending=(knock,))
    fixes = [f.fix for f in _findings(snap, "peers")]
    assert f"roam peers accept {KNOCKER}" in fixes


def test_the_sessions_folder_offered_but_not_shared_back_warns_with_accept() -> None:
    offer = PendingFolder("claude-projects", "", KNOCKER, "")
    (finding,) = _findings(dataclasses.replace(healthy(), offered=(offer,)), "peers")
    assert finding.status is Status.WARN
    assert finding.fix == f"roam peers accept {KNOCKER}"


def test_another_folder_offered_is_info_and_left_alone() -> None:
    offer = PendingFolder("photos", "Photos", KNOCKER, "")
    (finding,) = _findings(dataclasses.replace(healthy(), offered=(offer,)), "peers")
    assert finding.status is Status.INFO
    assert "not roam's sessions folder" in finding.message


def test_a_peer_not_connected_gets_a_true_hint_not_start_syncthing() -> None:
    peer = PeerFacts(PEER, "beta", False, False, True, 0, 100.0)
    (finding,) = _findings(dataclasses.replace(healthy(), peers=(peer,)), "peers")
    assert "starts Syncthing there" not in (finding.fix or "")
    assert finding.fix is not None
    assert finding.fix.startswith("roam status   # on beta:")
    assert f"roam peers accept {ME}" in finding.fix
    assert "off, cannot be reached, or has not paired" in finding.message


def test_a_peer_that_never_ran_roam_is_info_with_the_command_to_run_there() -> None:
    (finding,) = _findings(dataclasses.replace(healthy(), nodes={}), "versions")
    assert finding.status is Status.INFO
    assert finding.fix == "roam setup   # on beta, if roam has never run there"


def test_an_unreadable_node_file_still_warns() -> None:
    from session_roam.engine.syncthing.nodeinfo import PeerNodeInfo

    broken = {PEER: PeerNodeInfo(PEER, None, 0.0, error="not JSON")}
    (finding,) = _findings(dataclasses.replace(healthy(), nodes=broken), "versions")
    assert finding.status is Status.WARN
    assert "not JSON" in finding.message


def test_a_node_file_still_downloading_is_info_that_it_is_arriving() -> None:
    from session_roam.engine.syncthing.nodeinfo import PeerNodeInfo

    arriving = {PEER: PeerNodeInfo(PEER, None, 0.0, arriving=True)}
    (finding,) = _findings(dataclasses.replace(healthy(), nodes=arriving), "versions")
    assert (finding.status, "is arriving" in finding.message) == (Status.INFO, True)


def test_info_findings_count_in_the_summary_and_do_not_fail() -> None:
    report = VerifyReport(run_checks(dataclasses.replace(healthy(), nodes={})))
    assert report.to_json()["summary"]["info"] == 1
    assert report.to_json()["ok"] is True


def test_sessions_count_says_all_when_every_session_was_compared() -> None:
    snap = dataclasses.replace(healthy(), sessions_checked=3, sessions_total=3)
    (finding,) = _findings(snap, "sessions")
    assert finding.message == "All 3 sessions here are on every connected peer (1)."


def test_sessions_count_says_the_newest_n_of_the_total_when_only_some_were_compared() -> None:
    snap = dataclasses.replace(healthy(), sessions_checked=200, sessions_total=1201)
    (finding,) = _findings(snap, "sessions")
    assert finding.message.startswith(
        "The newest 200 of the 1,201 sessions here are on every connected peer (1)"
    )


def test_findings_name_a_peer_by_its_one_display_name() -> None:
    peer = PeerFacts(PEER, "peer-BBBBBBB", False, False, True, 0, 100.0)
    snap = dataclasses.replace(healthy(), peers=(peer,), names={PEER: "laptop-BBBBBBB"})
    (finding,) = _findings(snap, "peers")
    assert finding.message.startswith("Peer laptop-BBBBBBB (BBBBBBB) is not connected")
    assert statuses(snap)["peers"] == "warn"
