"""The ``backups`` dimension of ``roam verify``: the store against its bound, never a failure."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from session_roam.engine.core.backup_bound import BackupBound, BackupUsage
from session_roam.engine.verify.checks import CHECKS
from session_roam.engine.verify.model import Status
from tests.engine.test_verify_checks import healthy

MIB = 2**20
BOUND = BackupBound(keep_days=14, max_days=90, max_mb=100)


def _usage(**changes: object) -> BackupUsage:
    base = BackupUsage(BOUND, 10 * MIB, 4, 20.0, (), 0, 10 * MIB)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]  # test factory


def _check(usage: BackupUsage | None, error: str = "") -> list[tuple[Status, str, str | None]]:
    snap = dataclasses.replace(healthy(), backups=usage, backups_error=error)
    return [(f.status, f.message, f.fix) for f in CHECKS["backups"](snap)]


def test_backups_within_the_bound_are_ok_and_say_how_much_and_how_old() -> None:
    [(status, message, _fix)] = _check(_usage())
    assert status is Status.OK
    assert "10.0 MiB in 4 backup(s), the oldest 20 days old" in message


def test_backups_beyond_the_bound_warn_with_the_prune_command() -> None:
    usage = _usage(beyond=(Path("/b/1"), Path("/b/2")), beyond_bytes=3 * MIB, kept_bytes=7 * MIB)
    [(status, message, fix)] = _check(usage)
    assert status is Status.WARN
    assert message.startswith("2 backup(s) (3.0 MiB) are beyond the bound")
    assert fix == "roam backups --prune"


def test_young_backups_over_the_size_bound_warn_and_are_not_called_prunable() -> None:
    [(status, message, fix)] = _check(_usage(total_bytes=150 * MIB, kept_bytes=150 * MIB))
    assert status is Status.WARN
    assert "over the 100 MB bound" in message
    assert fix is not None
    assert fix.startswith("roam backups --prune --keep-days 7")


def test_a_store_that_cannot_be_measured_warns_with_the_reason() -> None:
    [(status, message, _fix)] = _check(None, "[backups] max_mb must be a number")
    assert status is Status.WARN
    assert "max_mb must be a number" in message


def test_backups_never_fail_verify() -> None:
    worst = _usage(total_bytes=10**12, kept_bytes=10**12, beyond=(Path("/b"),), beyond_bytes=10**9)
    assert {status for status, _m, _f in _check(worst)} == {Status.WARN}
