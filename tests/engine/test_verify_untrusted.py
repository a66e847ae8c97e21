"""The encryption check of `roam verify`: an untrusted (always-on) device only ever gets the
folder encrypted, and a device that gets it encrypted is marked untrusted."""

from __future__ import annotations

import dataclasses

from session_roam.engine.verify.checks import CHECKS
from session_roam.engine.verify.model import PeerFacts, ServiceFacts, Snapshot, Status
from tests.engine.test_verify_checks import PEER, healthy, only_failing, statuses

VAULT = "CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC"


def _with_vault(*, untrusted: bool, encrypted: bool, shares_folder: bool = True) -> Snapshot:
    vault = PeerFacts(
        VAULT, "nas", True, False, shares_folder, 0, 100.0, untrusted=untrusted, encrypted=encrypted
    )
    return dataclasses.replace(healthy(), peers=(*healthy().peers, vault))


def test_verify_encryption_without_untrusted_devices_is_ok() -> None:
    [finding] = CHECKS["encryption"](healthy())
    assert finding.status is Status.OK
    assert finding.message == "No untrusted device shares the folder."


def test_verify_encryption_always_on_node_shared_encrypted_is_ok() -> None:
    [finding] = CHECKS["encryption"](_with_vault(untrusted=True, encrypted=True))
    assert finding.status is Status.OK
    assert "1 always-on node(s) get the folder encrypted" in finding.message


def test_verify_encryption_untrusted_device_without_password_fails_only_encryption() -> None:
    snap = _with_vault(untrusted=True, encrypted=False)
    assert only_failing(snap) == {"encryption"}
    [finding] = CHECKS["encryption"](snap)
    assert finding.message == (
        "Untrusted device nas (CCCCCCC) is given folder claude-projects without an encryption "
        "password, so Syncthing sends it nothing."
    )
    assert finding.fix == f"roam peers add {VAULT} --untrusted --password-file FILE"
    assert finding.subject == VAULT


def test_verify_encryption_encrypted_share_not_marked_untrusted_warns() -> None:
    snap = _with_vault(untrusted=False, encrypted=True)
    assert statuses(snap)["encryption"] == "warn"
    [finding] = CHECKS["encryption"](snap)
    assert "is not marked untrusted" in finding.message
    assert finding.fix == f"roam peers add {VAULT} --untrusted --password-file FILE"


def test_verify_encryption_fails_untrusted_device_syncthing_unshared() -> None:
    """Syncthing 1.2x drops an untrusted device from a folder that lost its password: the
    always-on node then receives nothing, which must not read as "no untrusted device"."""
    snap = _with_vault(untrusted=True, encrypted=False, shares_folder=False)
    assert statuses(snap)["encryption"] == "fail"
    [finding] = CHECKS["encryption"](snap)
    assert finding.message == (
        "Untrusted device nas (CCCCCCC) is not given folder claude-projects (Syncthing unshares "
        "it when its encryption password is missing), so it receives nothing."
    )
    assert finding.fix == f"roam peers add {VAULT} --untrusted --password-file FILE"


def test_verify_encryption_plain_peer_is_not_flagged() -> None:
    plain = PeerFacts(PEER, "beta", True, False, True, 0, 100.0)
    assert statuses(dataclasses.replace(healthy(), peers=(plain,)))["encryption"] == "ok"


def test_verify_encryption_unchecked_when_syncthing_is_down() -> None:
    down = ServiceFacts(True, "/h", False, False, error="nothing answers")
    snap = dataclasses.replace(
        _with_vault(untrusted=True, encrypted=False), service=down, skipped="nothing answers"
    )
    [finding] = CHECKS["encryption"](snap)
    assert finding.status is Status.WARN
    assert finding.message.startswith("Not checked:")
