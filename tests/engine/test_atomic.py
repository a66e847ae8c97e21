from __future__ import annotations

import stat
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.atomic import TEMP_PREFIX, atomic_write

if TYPE_CHECKING:
    from pathlib import Path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_creates_the_file_with_mode_0600(tmp_path: Path) -> None:
    target = tmp_path / "s.jsonl"
    atomic_write(target, b"line\n")
    assert target.read_bytes() == b"line\n"
    assert _mode(target) == 0o600


def test_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    atomic_write(folder / "s.jsonl", b"x")
    assert [p.name for p in folder.iterdir()] == ["s.jsonl"]


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "s.jsonl"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o640


def test_atomic_write_honours_an_explicit_mode(tmp_path: Path) -> None:
    target = tmp_path / "s.jsonl"
    atomic_write(target, b"x", mode=0o644)
    assert _mode(target) == 0o644


def test_atomic_write_replaces_the_inode_so_readers_never_see_half(tmp_path: Path) -> None:
    target = tmp_path / "s.jsonl"
    target.write_bytes(b"old")
    before = target.stat().st_ino
    atomic_write(target, b"new")
    assert target.stat().st_ino != before


def test_atomic_write_failure_keeps_the_old_file_and_removes_the_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "s.jsonl"
    target.write_bytes(b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("session_roam.engine.core.atomic.os.fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_temp_prefix_is_the_one_syncthing_is_told_to_ignore() -> None:
    assert TEMP_PREFIX == ".roam-tmp-"
