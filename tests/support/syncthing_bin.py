"""The one Syncthing binary every test uses: ROAM_SYNCTHING_BIN, else ``syncthing`` on PATH.

Tests never look syncthing up on PATH themselves: with ROAM_SYNCTHING_BIN naming another
version (CI runs the e2e tests once per version), a test that took PATH's binary would run a
mixed cluster, and roam under test would restart nodes on a config their binary cannot read.
"""

from __future__ import annotations

from typing import Final

from session_roam.engine.syncthing.node import find_syncthing_binary
from session_roam.errors import SyncthingMissing

__all__ = ["SYNCTHING", "configured_syncthing"]


def configured_syncthing() -> str | None:
    """The binary roam itself would run, or None when none is installed.

    A ROAM_SYNCTHING_BIN naming no executable is rejected when the run starts (tests/conftest.py),
    so None here only ever means "nothing on PATH".
    """
    try:
        return find_syncthing_binary()
    except SyncthingMissing:
        return None


SYNCTHING: Final = configured_syncthing()
