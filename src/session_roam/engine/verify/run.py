"""``roam verify``: gather one snapshot, run every check, and with ``fix`` apply the safe fixes.

The safe fixes are the ones that cannot lose anything: put the deletion policy in force
(``ignoreDelete``, a safe ``cleanupPeriodDays``, one heal pass), install or merge roam's
``.stignore`` patterns (the user's own lines are kept), merge the conflict copies of sessions
nobody holds a live lease on (backups first, see ``engine.conflicts``), and start Syncthing
again when roam itself started it in the background. Everything else is reported with its
command for a person to run. After fixing, the snapshot is gathered again, so the report says
what is true now.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from session_roam.engine.claude.cleanup import ensure_safe_cleanup
from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.core import xdg
from session_roam.engine.core.store import find_session_files
from session_roam.engine.deletions.restore import heal
from session_roam.engine.lease import api as lease_api
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import read_config
from session_roam.engine.syncthing.ignore import install_stignore
from session_roam.engine.syncthing.local import find_roam_folder
from session_roam.engine.syncthing.node import spawn_detached
from session_roam.engine.verify.checks import run_checks
from session_roam.engine.verify.connect import VerifyRequest, connect
from session_roam.engine.verify.gather import gather, lease_engine
from session_roam.engine.verify.model import FixAction, VerifyReport
from session_roam.errors import RoamError

if TYPE_CHECKING:
    from session_roam.engine.verify.connect import Connection
    from session_roam.engine.verify.model import Finding

__all__ = ["VerifyRequest", "apply_fixes", "verify"]

log = logging.getLogger(__name__)


def verify(request: VerifyRequest, *, fix: bool = False) -> VerifyReport:
    """Check every dimension; with ``fix``, apply the safe fixes and check again."""
    findings = run_checks(gather(request))
    if not fix or not any(f.auto for f in findings):
        return VerifyReport(findings, fixed=fix)
    actions = apply_fixes(request, findings)
    return VerifyReport(run_checks(gather(request)), fixes=actions, fixed=True)


def apply_fixes(request: VerifyRequest, findings: tuple[Finding, ...]) -> tuple[FixAction, ...]:
    """Apply the fix of every finding marked ``auto``; one FixAction each, failures included."""
    wanted = [f for f in findings if f.auto]
    actions: list[FixAction] = []
    if any(f.dimension == "service" for f in wanted):
        actions.append(_restart_service(request))
    if any(f.dimension == "ignore" for f in wanted):
        actions.append(_install_ignores(request))
    if any(f.dimension == "deletions" for f in wanted):
        actions.append(_deletion_policy(request))
    conflicts = [f for f in wanted if f.dimension == "conflicts"]
    if conflicts:
        with connect(request) as conn:
            actions.extend(_merge(request, conn, f.subject) for f in conflicts)
    return tuple(actions)


def _restart_service(request: VerifyRequest) -> FixAction:
    with connect(request) as conn:
        if conn.facts.reachable:
            return FixAction("service", "start-syncthing", "Syncthing is already running.", True)
        home = conn.home
        if home is None or not conn.facts.supervised:
            return FixAction(
                "service",
                "start-syncthing",
                "roam did not start this Syncthing; left alone.",
                False,
            )
        try:
            pid = spawn_detached(conn.binary, home, xdg.state_dir() / "syncthing.log")
        except RoamError as exc:  # e.g. a binary older than the config (stversion)
            return FixAction("service", "start-syncthing", exc.message, False)
    try:
        config = read_config(home, api_key=request.api_key)
        with SyncthingClient(config.base_url, config.api_key) as client:
            client.wait_until_ready(30.0)
    except RoamError as exc:
        return FixAction("service", "start-syncthing", f"Started pid {pid}: {exc.message}", False)
    return FixAction("service", "start-syncthing", f"Started Syncthing (pid {pid}).", True)


def _install_ignores(request: VerifyRequest) -> FixAction:
    done = install_stignore(request.projects)
    detail = {
        "installed": f"Installed roam's .stignore in {done.path.parent}.",
        "merged": f"Added {len(done.added)} of roam's patterns to {done.path}.",
        "unchanged": f"{done.path} already had roam's patterns.",
    }[done.action]
    with connect(request) as conn:  # Syncthing reads .stignore again when it scans
        if conn.client is not None:
            folder = find_roam_folder(conn.client, request.projects)
            if folder is not None:
                try:
                    conn.client.scan(folder.id)
                except RoamError as exc:
                    log.warning("Rescan after installing .stignore failed: %s", exc.message)
    return FixAction("ignore", f"stignore-{done.action}", detail, True)


def _deletion_policy(request: VerifyRequest) -> FixAction:
    """ignoreDelete on the folder, a safe cleanupPeriodDays, then one heal pass (restore.py)."""
    done: list[str] = []
    try:
        if ensure_safe_cleanup(request.projects.parent).changed:
            done.append("cleanupPeriodDays set to 99999")
        with connect(request) as conn:
            folder = find_roam_folder(conn.client, request.projects) if conn.client else None
            if conn.client is not None and folder is not None:
                if folder.raw.get("ignoreDelete") is not True:
                    conn.client.patch_folder(folder.id, {"ignoreDelete": True})
                    done.append(f"folder {folder.id} ignores peers' deletions")
                healed = heal(request.projects, conn.client, folder.id)
                if healed.reannounced:
                    done.append(f"gave back {len(healed.reannounced)} deleted file(s)")
    except RoamError as exc:
        return FixAction("deletions", "deletion-policy", exc.message, False)
    detail = "; ".join(done) or "The deletion policy was already in force."
    return FixAction("deletions", "deletion-policy", detail + ".", True)


def _merge(request: VerifyRequest, conn: Connection, subject: str) -> FixAction:
    project, _, session_id = subject.partition("/")
    folder = find_roam_folder(conn.client, request.projects) if conn.client else None
    engine = lease_engine(conn, request.projects, folder) if folder is not None else None
    if engine is None:
        return FixAction(
            "conflicts", "merge", f"Session {session_id}: its lease cannot be checked.", False
        )

    def locked(session: str) -> bool:
        return lease_api.is_live(session, engine=engine)

    try:
        files = find_session_files(request.projects / project, session_id)
        result = merge_session(files, is_locked=locked)
    except RoamError as exc:
        return FixAction("conflicts", "merge", f"Session {session_id}: {exc.message}", False)
    return FixAction(
        "conflicts",
        "merge",
        f"Session {session_id}: {result.status}, {len(result.removed)} conflict copies merged"
        + (f", backup in {result.backup}." if result.backup else "."),
        True,
    )
