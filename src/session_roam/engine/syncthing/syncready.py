"""Whether this machine is set up for sync, and its Syncthing answering if it is (``roam cr``).

"Set up for sync" means roam knows this machine's Syncthing home (given, recorded by
``roam setup``, or Syncthing's own) and that home's ``config.xml`` shares Claude's projects
folder. Only a machine that is not set up may resume without a lease: nothing of its sessions
reaches another machine, so nothing can conflict. On a machine that is set up, a Syncthing that
is not running is started the way ``roam setup`` starts it and given a bounded time to find its
peers; if it cannot be reached, ``roam cr`` refuses (``--no-lease`` is the deliberate way past).
Everything is decided from files before anything is started, so a bad home or a missing binary
is reported before any process or file is touched.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import (
    config_folders,
    device_id_from_cert,
    locate_syncthing_home,
    read_config,
)
from session_roam.engine.syncthing.local import same_path
from session_roam.engine.syncthing.service import ensure_running, wait_for_peers
from session_roam.errors import SyncthingConfigMissing, SyncthingUnreachable

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.config import FoundHome
    from session_roam.engine.syncthing.service import Started

__all__ = ["NO_LEASE_HINT", "SyncHere", "sync_here"]

log = logging.getLogger(__name__)

#: What every refusal to resume without a lease offers as the deliberate way past it.
NO_LEASE_HINT: Final = (
    "or add --no-lease (`roam cr --no-lease`) to go on without the one-writer rule: if another "
    "machine writes the session meanwhile, Syncthing makes a conflict copy for "
    "`roam conflicts merge`."
)
_PEER_WAIT_S: Final = 15.0
_START_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class SyncHere:
    """This machine's Syncthing as ``roam cr`` found it: the home, and how roam started it
    (None when it was already running). ``started_s`` is how long starting and waiting took."""

    home: FoundHome
    started: Started | None = None
    started_s: float = 0.0
    #: The id of the folder that shares the projects folder, as config.xml says.
    folder_id: str | None = None
    #: The node's device ID, when the probe saw the running Syncthing answer with it (the one
    #: in cert.pem), so that the lease need not ask again; None when roam started it.
    device_id: str | None = None


def sync_here(
    projects_dir: Path, explicit_home: Path | None = None, *, peer_wait_s: float = _PEER_WAIT_S
) -> SyncHere | None:
    """None when this machine is not set up for sync; else its Syncthing, answering.

    Raises SetupError for a home that was named but holds no config (``locate_syncthing_home``),
    SyncthingMissing when Syncthing must be started but is not installed, and
    SyncthingUnreachable (with ``NO_LEASE_HINT``) when it would not start or answer.
    """
    home = locate_syncthing_home(explicit_home)
    if home is None:
        return None
    folders = [
        (fid, path) for fid, path in config_folders(home.path) if same_path(path, projects_dir)
    ]
    if not folders:
        log.info("Syncthing in %s does not share %s: not set up for sync", home.path, projects_dir)
        return None
    config = read_config(home.path)
    began = time.monotonic()
    try:
        started = ensure_running(config, use_systemd=home.is_default, timeout_s=_START_TIMEOUT_S)
    except SyncthingUnreachable as exc:
        raise SyncthingUnreachable(
            f"Syncthing is set up here but not running, and roam could not start it: {exc.message}",
            hint=f"Start it and run the command again, {NO_LEASE_HINT}",
        ) from exc
    if started is None:  # it answered with this home's device ID (or the home has no cert)
        return SyncHere(home, folder_id=folders[0][0], device_id=_device_id(home.path))
    with SyncthingClient(config.base_url, config.api_key) as client:
        wait_for_peers(client, folders[0][0], timeout_s=peer_wait_s)
    return SyncHere(home, started, time.monotonic() - began, folders[0][0])


def _device_id(home: Path) -> str | None:
    """The device ID in ``home``'s cert.pem; None without one (then the lease asks)."""
    try:
        return str(device_id_from_cert(home))
    except SyncthingConfigMissing:
        return None
