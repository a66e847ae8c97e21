"""cleanupPeriodDays: roam makes Claude Code's start-up clean-up harmless, keeping every key."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.claude.cleanup import SAFE_CLEANUP_DAYS, cleanup_days, ensure_safe_cleanup
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path


def _settings(claude_dir: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((claude_dir / "settings.json").read_text())
    return loaded


def test_cleanup_is_set_when_absent(tmp_path: Path) -> None:
    change = ensure_safe_cleanup(tmp_path, backup_dir=tmp_path / "b")
    assert (change.before, change.after) == (None, SAFE_CLEANUP_DAYS)
    assert cleanup_days(tmp_path) == SAFE_CLEANUP_DAYS


def test_cleanup_raises_a_small_value_and_keeps_other_keys(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"model": "opus", "cleanupPeriodDays": 30}')
    ensure_safe_cleanup(tmp_path, backup_dir=tmp_path / "b")
    assert _settings(tmp_path) == {"model": "opus", "cleanupPeriodDays": SAFE_CLEANUP_DAYS}


def test_cleanup_backs_up_the_previous_settings(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"cleanupPeriodDays": 7}')
    change = ensure_safe_cleanup(tmp_path, backup_dir=tmp_path / "b")
    assert change.backup is not None
    assert change.backup.read_text() == '{"cleanupPeriodDays": 7}'


def test_cleanup_leaves_a_safe_value_untouched(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"cleanupPeriodDays": 100000}')
    assert not ensure_safe_cleanup(tmp_path).changed
    assert (tmp_path / "settings.json").read_text() == '{"cleanupPeriodDays": 100000}'


def test_cleanup_refuses_a_broken_settings_file_and_leaves_it(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{not json")
    with pytest.raises(InvalidInput):
        ensure_safe_cleanup(tmp_path)
    assert (tmp_path / "settings.json").read_text() == "{not json"
