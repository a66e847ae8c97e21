"""verify's deletions dimension, from hand-made snapshots."""

from __future__ import annotations

import dataclasses

from session_roam.engine.syncthing.nodeinfo import NodeInfo, PeerNodeInfo
from session_roam.engine.verify.checks import run_checks
from session_roam.engine.verify.model import DeletionFacts, Finding, FolderFacts, Snapshot, Status
from tests.engine.test_verify_checks import PEER, healthy


def _deletions(snap: Snapshot) -> list[Finding]:
    return [f for f in run_checks(snap) if f.dimension == "deletions"]


def _peer(**policy: object) -> dict[str, PeerNodeInfo]:
    info = NodeInfo(PEER, "beta", "0.1.0", "v1.19.2", "2.1.331", 1000.5, **policy)  # type: ignore[arg-type] # test data
    return {PEER: PeerNodeInfo(PEER, info, 1000.0)}


def test_deletions_ok_when_the_policy_is_in_force_everywhere() -> None:
    assert [f.status for f in _deletions(healthy())] == [Status.OK]


def test_deletions_fail_when_this_folder_passes_deletions_on() -> None:
    folder = FolderFacts("f", "/p", "sendreceive", True, 1, False, ("ignoreDelete",), 0)
    (found,) = _deletions(dataclasses.replace(healthy(), folder=folder))
    assert (found.status, found.fix, found.auto) == (Status.FAIL, "roam verify --fix", True)


def test_deletions_warn_about_claude_cleanup_left_at_its_default() -> None:
    snap = dataclasses.replace(healthy(), deletions=DeletionFacts(cleanup_days=None))
    (found,) = _deletions(snap)
    assert found.status is Status.WARN
    assert "unset (30 days)" in found.message


def test_deletions_fail_when_a_peer_passes_deletions_on() -> None:
    snap = dataclasses.replace(healthy(), nodes=_peer(ignore_delete=False, policy_known=True))
    (found,) = _deletions(snap)
    assert found.status is Status.FAIL
    assert "beta" in found.message


def test_deletions_warn_when_a_peer_runs_an_older_roam() -> None:
    (found,) = _deletions(dataclasses.replace(healthy(), nodes=_peer()))
    assert found.status is Status.WARN


def test_deletions_name_restore_for_sessions_this_machine_lost() -> None:
    facts = DeletionFacts(cleanup_days=99999, lost=2, lost_bytes=300)
    (found,) = _deletions(dataclasses.replace(healthy(), deletions=facts))
    assert found.fix == "roam restore --all"


def test_deletions_offer_to_give_back_files_deleted_elsewhere() -> None:
    facts = DeletionFacts(cleanup_days=99999, deleted_elsewhere=3)
    (found,) = _deletions(dataclasses.replace(healthy(), deletions=facts))
    assert (found.status, found.auto) == (Status.WARN, True)


def test_folder_stopped_because_its_path_is_missing_fails_with_the_repair() -> None:
    folder = FolderFacts(
        "f", "/p", "sendreceive", True, 1, False, (), 0, state_error="folder path missing"
    )
    found = list(run_checks(dataclasses.replace(healthy(), folder=folder)))
    failing = [f for f in found if f.status is Status.FAIL]
    assert [f.dimension for f in failing] == ["folder"]
    assert failing[0].fix is not None
    assert failing[0].fix.startswith("roam setup")
