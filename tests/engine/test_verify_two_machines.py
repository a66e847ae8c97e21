"""``roam verify`` says what one writer means with two machines and no third (issue 20)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from session_roam.engine.verify.checks import CHECKS
from session_roam.engine.verify.model import PeerFacts, Status
from tests.engine.test_verify_checks import healthy

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

THIRD = "CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC"


def test_verify_leases_of_two_machines_names_a_third_syncthing() -> None:
    [finding] = CHECKS["leases"](healthy())
    assert finding.status is Status.OK
    assert "two machines and no third" in finding.message
    assert "a third always-on Syncthing" in finding.message


def test_verify_leases_of_three_machines_says_nothing_about_a_third() -> None:
    vault = PeerFacts(THIRD, "vault", True, False, True, 0, 100.0)
    snap = dataclasses.replace(healthy(), peers=(*healthy().peers, vault))
    assert all("third" not in f.message for f in CHECKS["leases"](snap))


def test_verify_leases_fails_on_an_unknown_lease_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "session-roam").mkdir()
    (tmp_path / "session-roam" / "config.toml").write_text('lease_rule = "strict"\n')
    [finding] = CHECKS["leases"](healthy())
    assert finding.status is Status.FAIL
    assert "is not a lease rule" in finding.message
