from __future__ import annotations

import stat
from typing import TYPE_CHECKING

from session_roam.engine.core import xdg

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_state_dir_follows_xdg_state_home(clean_environ: Path) -> None:
    assert xdg.state_dir() == clean_environ / ".local" / "state" / "session-roam"


def test_dirs_are_created_private(clean_environ: Path) -> None:
    for folder in (xdg.config_dir(), xdg.state_dir(), xdg.cache_dir()):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_defaults_apply_when_xdg_variables_are_unset(
    clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name)
    assert xdg.config_dir() == clean_environ / ".config" / "session-roam"
    assert xdg.cache_dir() == clean_environ / ".cache" / "session-roam"


def test_a_relative_xdg_value_is_ignored(
    clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert xdg.cache_dir() == clean_environ / ".cache" / "session-roam"
