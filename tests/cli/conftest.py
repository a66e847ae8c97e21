"""Fixtures the CLI tests of sessions share: a working directory and a Claude dir to fill."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.engine.sessions_fixtures import SessionWriter

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory roam runs in (a project of its own), made current."""
    folder = tmp_path / "work" / "proj"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    return folder.resolve()


@pytest.fixture
def writer(clean_environ: Path) -> SessionWriter:
    """Writes sessions into ~/.claude of the test's own HOME (where roam looks by default)."""
    config = clean_environ / ".claude"
    config.mkdir()
    return SessionWriter(config)
