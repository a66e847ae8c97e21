"""Fixtures the engine tests of sessions and search share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.engine.sessions_fixtures import SessionWriter

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A Claude config dir (what $CLAUDE_CONFIG_DIR names)."""
    folder = tmp_path / "claude"
    folder.mkdir()
    return folder


@pytest.fixture
def writer(config_dir: Path) -> SessionWriter:
    return SessionWriter(config_dir)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project's working directory, resolved as Claude Code records it."""
    cwd = tmp_path / "proj"
    cwd.mkdir()
    return cwd.resolve()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """roam's cache folder (where the search index lives)."""
    folder = tmp_path / "cache"
    folder.mkdir()
    return folder
