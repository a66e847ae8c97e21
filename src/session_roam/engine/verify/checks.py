"""The checks of ``roam verify``: pure functions from a ``Snapshot`` to findings.

Each check answers for one dimension, says ok when all is well (so a report always lists every
dimension), and gives the exact command that fixes each problem. A check whose facts could not
be gathered (Syncthing down, say) warns that it was not checked instead of failing, so that one
broken thing shows as exactly one failing dimension.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from session_roam.engine.verify.checks_clock import check_clock
from session_roam.engine.verify.checks_deletions import check_deletions
from session_roam.engine.verify.checks_identity import check_paths_and_identity
from session_roam.engine.verify.checks_node import (
    check_backups,
    check_disk,
    check_leases,
    check_namespaces,
    check_shortcuts,
    check_versions,
)
from session_roam.engine.verify.checks_peers import check_peers
from session_roam.engine.verify.checks_sync import (
    check_api,
    check_conflicts,
    check_folder,
    check_ignore,
    check_service,
    check_sessions,
)
from session_roam.engine.verify.checks_synced import check_synced_data
from session_roam.engine.verify.checks_untrusted import check_encryption
from session_roam.engine.verify.checks_watch import check_watch
from session_roam.engine.verify.model import DIMENSIONS

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.verify.model import Finding, Snapshot

__all__ = ["CHECKS", "run_checks"]

CHECKS: Final[dict[str, Callable[[Snapshot], list[Finding]]]] = {
    "service": check_service,
    "api": check_api,
    "folder": check_folder,
    "peers": check_peers,
    "sessions": check_sessions,
    "ignore": check_ignore,
    "conflicts": check_conflicts,
    "shortcuts": check_shortcuts,
    "namespaces": check_namespaces,
    "leases": check_leases,
    "versions": check_versions,
    "clock": check_clock,
    "paths": check_paths_and_identity,
    "disk": check_disk,
    "encryption": check_encryption,
    "backups": check_backups,
    "deletions": check_deletions,
    "synced-data": check_synced_data,
    "watch": check_watch,
}
assert tuple(CHECKS) == DIMENSIONS  # noqa: S101 - a module invariant, not input validation


def run_checks(snap: Snapshot) -> tuple[Finding, ...]:
    """Every dimension's findings, in ``DIMENSIONS`` order."""
    return tuple(f for dimension in DIMENSIONS for f in CHECKS[dimension](snap))
