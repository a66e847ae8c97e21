"""The one resolver of this machine's Syncthing home: each source, their order, their errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from session_roam.engine.syncthing.config import (
    FoundHome,
    find_syncthing_home,
    locate_syncthing_home,
)
from session_roam.engine.syncthing.home import record_syncthing_home
from session_roam.errors import SetupError, SyncthingConfigMissing

if TYPE_CHECKING:
    from pathlib import Path


def _home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.xml").write_text("<configuration/>")
    return path


@pytest.fixture
def every_source(
    tmp_path: Path, clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """A config in each place the resolver looks, each one set up."""
    homes = {
        "option": _home(tmp_path / "option"),
        "env": _home(tmp_path / "env"),
        "sthomedir": _home(tmp_path / "sthomedir"),
        "recorded": _home(tmp_path / "recorded"),
        "default": _home(clean_environ / ".local" / "state" / "syncthing"),
    }
    monkeypatch.setenv("ROAM_SYNCTHING_HOME", str(homes["env"]))
    monkeypatch.setenv("STHOMEDIR", str(homes["sthomedir"]))
    record_syncthing_home(homes["recorded"])
    return homes


def test_locate_prefers_the_option_over_everything(every_source: dict[str, Path]) -> None:
    found = locate_syncthing_home(every_source["option"])
    assert found == FoundHome(every_source["option"], "--syncthing-home")


def test_locate_takes_roam_syncthing_home_before_sthomedir(every_source: dict[str, Path]) -> None:
    assert locate_syncthing_home() == FoundHome(every_source["env"], "ROAM_SYNCTHING_HOME")


def test_locate_names_the_variable_when_the_option_came_from_it(
    every_source: dict[str, Path],
) -> None:
    found = locate_syncthing_home(every_source["env"])
    assert found is not None
    assert found.source == "ROAM_SYNCTHING_HOME"


def test_locate_takes_sthomedir_before_the_recorded_home(
    every_source: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROAM_SYNCTHING_HOME")
    assert locate_syncthing_home() == FoundHome(every_source["sthomedir"], "STHOMEDIR")


def test_locate_takes_the_home_roam_setup_recorded_before_the_defaults(
    every_source: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROAM_SYNCTHING_HOME")
    monkeypatch.delenv("STHOMEDIR")
    assert locate_syncthing_home() == FoundHome(every_source["recorded"], "roam setup")


def test_locate_falls_back_to_syncthings_own_default(
    every_source: dict[str, Path], clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROAM_SYNCTHING_HOME")
    monkeypatch.delenv("STHOMEDIR")
    (clean_environ / ".config" / "session-roam" / "config.toml").unlink()
    found = locate_syncthing_home()
    assert found == FoundHome(every_source["default"], "Syncthing's default")
    assert found.is_default


def test_locate_skips_a_sthomedir_without_config(
    clean_environ: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = _home(clean_environ / ".config" / "syncthing")
    monkeypatch.setenv("STHOMEDIR", str(tmp_path / "empty"))
    assert locate_syncthing_home() == FoundHome(default, "Syncthing's default")


def test_locate_finds_nothing_on_a_machine_without_syncthing() -> None:
    assert locate_syncthing_home() is None


def test_find_syncthing_home_without_any_config_is_config_missing() -> None:
    with pytest.raises(SyncthingConfigMissing):
        find_syncthing_home()


def test_locate_refuses_roam_syncthing_home_without_config(
    clean_environ: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _home(clean_environ / ".config" / "syncthing")  # would be found if the error fell through
    monkeypatch.setenv("ROAM_SYNCTHING_HOME", str(tmp_path / "typo"))
    with pytest.raises(SetupError, match=r"config\.xml in .*typo \(given by ROAM_SYNCTHING_HOME\)"):
        locate_syncthing_home()


def test_locate_refuses_an_option_without_config(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match=r"given by --syncthing-home") as raised:
        locate_syncthing_home(tmp_path / "typo")
    assert "roam setup --syncthing-home" in raised.value.hint


def test_locate_refuses_a_recorded_home_that_lost_its_config(
    clean_environ: Path, tmp_path: Path
) -> None:
    _home(clean_environ / ".config" / "syncthing")
    record_syncthing_home(tmp_path / "gone")
    with pytest.raises(SetupError, match="roam setup recorded") as raised:
        locate_syncthing_home()
    assert not isinstance(raised.value, SyncthingConfigMissing)


def test_found_home_under_a_default_path_counts_as_default(clean_environ: Path) -> None:
    path = clean_environ / ".config" / "syncthing"
    assert FoundHome(path, "STHOMEDIR").is_default
    assert not FoundHome(path.parent / "elsewhere", "STHOMEDIR").is_default
