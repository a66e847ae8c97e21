"""The Syncthing home roam setup records in roam's config.toml, next to the user's settings."""

from __future__ import annotations

import stat
import tomllib
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.syncthing.home import record_syncthing_home, recorded_syncthing_home
from session_roam.errors import SetupError

if TYPE_CHECKING:
    from pathlib import Path


def test_recorded_home_is_none_before_setup_ran(tmp_path: Path) -> None:
    assert recorded_syncthing_home(tmp_path) is None


def test_record_then_read_gives_the_same_home(tmp_path: Path) -> None:
    record_syncthing_home(tmp_path / "st home ü", tmp_path / "cfg")
    assert recorded_syncthing_home(tmp_path / "cfg") == tmp_path / "st home ü"


def test_record_keeps_every_other_setting_and_comment(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('# mine\nagent_namespaces = ["/srv/a"]\n\n[paths]\nx = 1\n')
    record_syncthing_home(tmp_path / "st", tmp_path)
    data = tomllib.loads(config.read_text())
    assert data == {
        "syncthing_home": str(tmp_path / "st"),
        "agent_namespaces": ["/srv/a"],
        "paths": {"x": 1},
    }
    assert config.read_text().startswith("# mine\n")


def test_record_replaces_the_previous_home_once(tmp_path: Path) -> None:
    record_syncthing_home(tmp_path / "old", tmp_path)
    record_syncthing_home(tmp_path / "new", tmp_path)
    text = (tmp_path / "config.toml").read_text()
    assert text.count("syncthing_home") == 1
    assert recorded_syncthing_home(tmp_path) == tmp_path / "new"


def test_record_of_the_same_home_changes_nothing(tmp_path: Path) -> None:
    assert record_syncthing_home(tmp_path / "st", tmp_path)
    assert not record_syncthing_home(tmp_path / "st", tmp_path)


def test_record_writes_a_private_file(tmp_path: Path) -> None:
    record_syncthing_home(tmp_path / "st", tmp_path / "cfg")
    assert stat.S_IMODE((tmp_path / "cfg" / "config.toml").stat().st_mode) == 0o600


def test_record_refuses_to_rewrite_a_config_it_cannot_parse(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("agent_namespaces = [\n")
    with pytest.raises(SetupError, match="not valid TOML"):
        record_syncthing_home(tmp_path / "st", tmp_path)
    assert config.read_text() == "agent_namespaces = [\n"


def test_recorded_relative_path_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('syncthing_home = "relative/st"\n')
    assert recorded_syncthing_home(tmp_path) is None
