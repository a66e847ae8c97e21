"""Machines with a Syncthing home on disk, for ``pytest_plugins``.

``silent_syncthing`` is a machine set up for sync whose Syncthing is down and cannot start: its
binary is a script that exits at once, and nothing listens on its GUI port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.st_home import FAILING_SYNCTHING, write_st_config

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["silent_syncthing"]


@pytest.fixture
def silent_syncthing(clean_environ: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This machine shares ~/.claude/projects through Syncthing's default home, and its
    Syncthing is down for good. Returns that home."""
    home = write_st_config(
        clean_environ / ".config" / "syncthing", shares=clean_environ / ".claude" / "projects"
    )
    binary = clean_environ / "bin" / "syncthing"
    binary.parent.mkdir()
    binary.write_text(FAILING_SYNCTHING)
    binary.chmod(0o755)
    monkeypatch.setenv("ROAM_SYNCTHING_BIN", str(binary))
    monkeypatch.setenv("ROAM_NO_SYSTEMD", "1")
    return home
