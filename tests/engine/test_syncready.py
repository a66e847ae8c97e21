"""`roam cr`'s view of this machine: set up for sync or not, and its Syncthing brought up."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.syncthing import syncready
from session_roam.engine.syncthing.config import device_id_from_cert
from session_roam.engine.syncthing.syncready import NO_LEASE_HINT, SyncHere, sync_here
from session_roam.errors import SetupError, SyncthingMissing, SyncthingUnreachable
from tests.support.st_home import write_st_config

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.config import StConfig
    from session_roam.engine.syncthing.service import Started

pytest_plugins = ["tests.support.st_home_fixtures"]


@pytest.fixture
def projects(clean_environ: Path) -> Path:
    return clean_environ / ".claude" / "projects"


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records each home ``ensure_running`` is asked about (it is never really run)."""
    asked: list[Path] = []

    def ensure(config: StConfig, *, use_systemd: bool, timeout_s: float) -> Started | None:
        asked.append(config.home)
        return None

    monkeypatch.setattr(syncready, "ensure_running", ensure)
    return asked


def test_sync_here_without_any_syncthing_is_not_set_up(projects: Path, starts: list[Path]) -> None:
    assert sync_here(projects) is None
    assert starts == []


def test_sync_here_with_a_syncthing_not_sharing_the_projects_is_not_set_up(
    clean_environ: Path, projects: Path, starts: list[Path]
) -> None:
    write_st_config(clean_environ / ".config" / "syncthing", shares=clean_environ / "photos")
    assert sync_here(projects) is None
    assert starts == []


def test_sync_here_with_a_config_sharing_the_projects_is_set_up(
    clean_environ: Path, projects: Path, starts: list[Path]
) -> None:
    home = write_st_config(clean_environ / ".config" / "syncthing", shares=projects)
    found = sync_here(projects)
    assert isinstance(found, SyncHere)
    assert found.home.path == home
    assert found.started is None
    assert starts == [home]


def test_sync_here_hands_on_the_device_id_of_the_syncthing_that_answered(
    clean_environ: Path, projects: Path, starts: list[Path]
) -> None:
    """The probe checked that the running node has cert.pem's ID: the lease need not ask."""
    home = write_st_config(clean_environ / ".config" / "syncthing", shares=projects)
    (home / "cert.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nc2Vzc2lvbi1yb2Ft\n-----END CERTIFICATE-----\n"
    )
    found = sync_here(projects)
    assert found is not None
    assert found.device_id == str(device_id_from_cert(home))


def test_sync_here_leaves_the_device_id_to_be_asked_without_a_cert(
    clean_environ: Path, projects: Path, starts: list[Path]
) -> None:
    write_st_config(clean_environ / ".config" / "syncthing", shares=projects)
    found = sync_here(projects)
    assert found is not None
    assert found.device_id is None


def test_sync_here_reads_a_folder_path_written_with_a_tilde(
    clean_environ: Path, projects: Path, starts: list[Path]
) -> None:
    write_st_config(clean_environ / ".config" / "syncthing", shares="~/.claude/projects")
    assert sync_here(projects) is not None


def test_sync_here_refuses_a_named_home_without_config_before_starting_anything(
    tmp_path: Path, projects: Path, starts: list[Path]
) -> None:
    with pytest.raises(SetupError, match="given by --syncthing-home"):
        sync_here(projects, tmp_path / "typo")
    assert starts == []


def test_sync_here_refuses_when_syncthing_cannot_start(
    silent_syncthing: Path, projects: Path
) -> None:
    began = time.monotonic()
    with pytest.raises(SyncthingUnreachable, match="exited while starting") as raised:
        sync_here(projects)
    assert raised.value.hint.endswith(NO_LEASE_HINT)
    assert time.monotonic() - began < 10  # the dead process ends the wait, not the timeout


def test_sync_here_refuses_when_syncthing_is_not_installed(
    silent_syncthing: Path, projects: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ROAM_SYNCTHING_BIN")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SyncthingMissing):
        sync_here(projects)
