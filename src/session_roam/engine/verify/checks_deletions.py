"""``roam verify``'s deletions dimension: can a deletion on one machine take a session away?

Three risks, each with its fix (docs/design/deletions.md):

- the folder does not ignore peers' deletions (``ignoreDelete``) here or on a peer, so one
  machine's clean-up or ``rm -rf`` deletes the session everywhere: a failure;
- Claude Code's ``cleanupPeriodDays`` is unset or small here or on a peer, so it deletes old
  sessions at start-up (the peers keep theirs and give them back, but this machine loses them
  between two heals): a warning;
- this machine lost sessions that the local archive still holds: a warning naming
  ``roam restore --all``;
- files held here were deleted on another machine and not yet given back: a warning that
  ``--fix`` resolves (one heal pass).

A stopped folder ("folder path missing") is reported by the folder dimension.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.claude.cleanup import CLAUDE_DEFAULT_DAYS, SAFE_CLEANUP_DAYS
from session_roam.engine.verify.model import Finding, Status

if TYPE_CHECKING:
    from session_roam.engine.verify.model import Snapshot

__all__ = ["check_deletions"]

_DIM = "deletions"


def _days(value: int | None) -> str:
    return f"unset ({CLAUDE_DEFAULT_DAYS} days)" if value is None else f"{value} days"


def _this_node(snap: Snapshot) -> list[Finding]:
    found: list[Finding] = []
    if snap.folder is not None and "ignoreDelete" in snap.folder.drift:
        found.append(
            Finding(
                _DIM,
                Status.FAIL,
                f"Folder {snap.folder.id!r} passes deletions on: a clean-up or rm -rf on one "
                "machine deletes the same sessions on every machine.",
                "roam verify --fix",
                auto=True,
            )
        )
    facts = snap.deletions
    if facts is None:
        return found
    if facts.settings_error:
        found.append(Finding(_DIM, Status.WARN, facts.settings_error, "roam setup"))
    elif facts.cleanup_days is None or facts.cleanup_days < SAFE_CLEANUP_DAYS:
        found.append(
            Finding(
                _DIM,
                Status.WARN,
                f"Claude Code's cleanupPeriodDays is {_days(facts.cleanup_days)} here: it deletes "
                "older sessions when it starts (the peers keep theirs; roam gives them back).",
                "roam verify --fix",
                auto=True,
            )
        )
    if facts.deleted_elsewhere:
        found.append(
            Finding(
                _DIM,
                Status.WARN,
                f"{facts.deleted_elsewhere} file(s) held here were deleted on another machine; "
                "it gets them back when this machine re-announces them.",
                "roam verify --fix",
                auto=True,
            )
        )
    if facts.lost:
        found.append(
            Finding(
                _DIM,
                Status.WARN,
                f"This machine lost {facts.lost} session(s) ({facts.lost_bytes} bytes) that its "
                "archive still holds.",
                "roam restore --all",
            )
        )
    return found


def _peers(snap: Snapshot) -> list[Finding]:
    found: list[Finding] = []
    me = snap.service.device_id
    names = {p.device_id: p.name or p.device_id[:7] for p in snap.peers}
    for device, node in sorted(snap.nodes.items()):
        if device == me or node.info is None or device not in names:
            continue
        info, who = node.info, names[device]
        if not info.policy_known:
            found.append(
                Finding(
                    _DIM,
                    Status.WARN,
                    f"{who} runs a roam that does not report its deletion policy.",
                    f"pipx upgrade session-roam && roam setup   # on {who}",
                )
            )
        elif not info.ignore_delete:
            found.append(
                Finding(
                    _DIM,
                    Status.FAIL,
                    f"{who} passes deletions on: a clean-up there deletes sessions here.",
                    f"roam verify --fix   # on {who}",
                )
            )
        elif info.cleanup_days is None or info.cleanup_days < SAFE_CLEANUP_DAYS:
            found.append(
                Finding(
                    _DIM,
                    Status.WARN,
                    f"Claude Code's cleanupPeriodDays is {_days(info.cleanup_days)} on {who}.",
                    f"roam verify --fix   # on {who}",
                )
            )
    return found


def check_deletions(snap: Snapshot) -> list[Finding]:
    """Findings for the deletions dimension (module docstring); ok when none applies."""
    found = _this_node(snap) + _peers(snap)
    if found:
        return found
    return [
        Finding(
            _DIM,
            Status.OK,
            "Deletions stay on the machine that made them; Claude Code's clean-up is off.",
        )
    ]
