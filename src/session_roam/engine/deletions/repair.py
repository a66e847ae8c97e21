"""Safe repair of a projects folder that vanished or lost its marker while peers hold sessions.

When ``~/.claude/projects`` disappears, Syncthing stops the folder ("folder path missing",
"folder marker missing") - which is safe. Recreating the ``.stfolder`` marker over the empty
folder and letting a send-receive scan run is not: the scan announces every session as deleted
(issue 13 reproduced it twice). So roam never recreates the marker while the folder is
send-receive. Instead, measured on Syncthing 1.19.2:

1. the folder becomes receive-only (its local changes then stay local),
2. the folder and its marker are recreated and scanned: the sessions show as local deletions,
3. ``POST /rest/db/revert`` undoes them, and Syncthing pulls every session back from the
   peers (0.6 s for a small folder here),
4. once nothing is needed any more, the folder returns to send-receive.

The global version of every file is untouched, so the peers never see a deletion.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.atomic import make_private_dirs
from session_roam.engine.syncthing.folder import protect_folder_marker
from session_roam.engine.syncthing.ignore import install_stignore
from session_roam.errors import SyncTimeout

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = ["RepairResult", "needs_repair", "repair_folder"]

log = logging.getLogger(__name__)

_POLL_S: Final = 0.2
DEFAULT_TIMEOUT_S: Final = 120.0


@dataclass(frozen=True, slots=True)
class RepairResult:
    folder_id: str
    restored_files: int
    seconds: float


def needs_repair(client: SyncthingClient, folder_id: str, projects_dir: Path) -> bool:
    """The folder or its marker is gone while the cluster still holds files in it.

    Both cases stop the folder in Syncthing, so nothing was announced yet; an ordinary setup
    would recreate the marker and announce every file as deleted.
    """
    marker = projects_dir / ".stfolder"
    if projects_dir.is_dir() and marker.is_dir():
        return False
    return int(client.folder_status(folder_id).raw.get("globalFiles", 0)) > 0


def _settled(client: SyncthingClient, folder_id: str) -> bool:
    raw = client.folder_status(folder_id).raw
    return (
        raw.get("state") == "idle"
        and raw.get("needTotalItems", 0) == 0
        and raw.get("receiveOnlyTotalItems", 0) == 0
        and raw.get("localFiles", 0) >= raw.get("globalFiles", 0)
    )


def repair_folder(
    client: SyncthingClient,
    folder_id: str,
    projects_dir: Path,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> RepairResult:
    """Bring every file back from the peers, then resume normal sharing (module docstring).

    On a timeout the folder is left receive-only, so that nothing this machine lacks is ever
    announced as deleted; running ``roam setup`` again continues where this stopped.
    """
    started = time.monotonic()
    original = client.folder(folder_id).raw.get("type", "sendreceive")
    if original != "receiveonly":
        client.patch_folder(folder_id, {"type": "receiveonly"})
    make_private_dirs(projects_dir)
    protect_folder_marker(projects_dir)
    install_stignore(projects_dir)
    client.scan(folder_id)
    client.revert(folder_id)
    deadline = started + timeout_s
    while not _settled(client, folder_id):
        if time.monotonic() > deadline:
            raise SyncTimeout(
                f"The peers had not sent every session back within {timeout_s:g} s; the folder "
                "stays receive-only so that nothing is deleted on them.",
                hint="Check that a peer is online (`roam status`), then run `roam setup` again.",
            )
        time.sleep(_POLL_S)
    restored = int(client.folder_status(folder_id).raw.get("localFiles", 0))
    client.patch_folder(folder_id, {"type": "sendreceive"})
    seconds = time.monotonic() - started
    log.info("Repaired folder %s: %d file(s) back in %.1f s.", folder_id, restored, seconds)
    return RepairResult(folder_id=folder_id, restored_files=restored, seconds=seconds)
