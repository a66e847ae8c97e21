"""The bytes a release recorded are here when the file starts with them (a session only grows)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from session_roam.engine.lease.model import ReleaseStamp
from session_roam.engine.lease.stamp import _holds_bytes

if TYPE_CHECKING:
    from pathlib import Path

RELEASED = b'{"type":"user"}\n{"type":"assistant"}\n'
STAMP = ReleaseStamp(len(RELEASED), hashlib.sha256(RELEASED).hexdigest())


def test_release_stamp_is_held_by_exactly_those_bytes(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(RELEASED)
    assert _holds_bytes(path, STAMP) is True


def test_release_stamp_is_held_by_a_file_that_goes_on_after_them(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(RELEASED + b'{"type":"assistant","late":true}\n')
    assert _holds_bytes(path, STAMP) is True


def test_release_stamp_is_not_held_by_a_shorter_file(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(RELEASED[:-5])
    assert _holds_bytes(path, STAMP) is False


def test_release_stamp_is_not_held_by_other_bytes_of_that_size(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(RELEASED.replace(b"user", b"USER") + b"more\n")
    assert _holds_bytes(path, STAMP) is False


def test_release_stamp_is_not_held_by_a_missing_file(tmp_path: Path) -> None:
    assert _holds_bytes(tmp_path / "missing.jsonl", STAMP) is False
