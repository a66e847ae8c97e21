from __future__ import annotations

import stat
from typing import TYPE_CHECKING

from session_roam.engine.syncthing.folder import protect_folder_marker

if TYPE_CHECKING:
    from pathlib import Path


def test_protect_folder_marker_leaves_the_marker_non_empty(tmp_path: Path) -> None:
    keep = protect_folder_marker(tmp_path)

    assert keep.parent == tmp_path / ".stfolder"
    assert list(keep.parent.iterdir()) == [keep]


def test_protect_folder_marker_writes_private_files(tmp_path: Path) -> None:
    keep = protect_folder_marker(tmp_path)

    assert stat.S_IMODE(keep.stat().st_mode) == 0o600
    assert stat.S_IMODE(keep.parent.stat().st_mode) == 0o700


def test_protect_folder_marker_is_idempotent(tmp_path: Path) -> None:
    first = protect_folder_marker(tmp_path).read_bytes()

    assert protect_folder_marker(tmp_path).read_bytes() == first
