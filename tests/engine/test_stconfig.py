from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.syncthing.config import (
    device_id_from_cert,
    find_syncthing_home,
    generate_config,
    gui_base_url,
    gui_is_loopback,
    harden_config,
    read_config,
)
from session_roam.errors import SetupError, SyncthingConfigMissing
from tests.support.syncthing_bin import SYNCTHING

if TYPE_CHECKING:
    from pathlib import Path

KEY = "Gk3rNg4irQouwoHRrRrTeSPbiebrecLu"
needs_syncthing = pytest.mark.skipif(SYNCTHING is None, reason="syncthing is not installed")


def _parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()  # noqa: S314 - a file this test just wrote


def _write_config(home: Path, *, address: str = "127.0.0.1:8384", key: str = KEY) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.xml").write_text(
        '<configuration version="36">'
        f'<gui enabled="true" tls="false"><address>{address}</address><apikey>{key}</apikey></gui>'
        "<options><listenAddress>default</listenAddress>"
        "<globalAnnounceEnabled>true</globalAnnounceEnabled></options>"
        "</configuration>"
    )
    return home


def test_find_syncthing_home_uses_xdg_state_dir(clean_environ: Path) -> None:
    home = _write_config(clean_environ / ".local" / "state" / "syncthing")
    assert find_syncthing_home() == home


def test_find_syncthing_home_prefers_legacy_config_dir(clean_environ: Path) -> None:
    _write_config(clean_environ / ".local" / "state" / "syncthing")
    legacy = _write_config(clean_environ / ".config" / "syncthing")
    assert find_syncthing_home() == legacy


def test_find_syncthing_home_honours_sthomedir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _write_config(tmp_path / "elsewhere")
    monkeypatch.setenv("STHOMEDIR", str(home))
    assert find_syncthing_home() == home


def test_find_syncthing_home_explicit_without_config_fails(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match=r"no Syncthing config\.xml in") as raised:
        find_syncthing_home(tmp_path)
    assert not isinstance(raised.value, SyncthingConfigMissing)  # not "this machine is unsynced"


def test_find_syncthing_home_nothing_found_fails() -> None:
    with pytest.raises(SyncthingConfigMissing, match=r"No Syncthing config\.xml was found"):
        find_syncthing_home()


def test_read_config_reads_key_and_address(tmp_path: Path) -> None:
    config = read_config(_write_config(tmp_path / "st", address="127.0.0.1:9999"))
    assert config.api_key == KEY
    assert config.base_url == "http://127.0.0.1:9999"


def test_read_config_env_key_overrides_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STGUIAPIKEY", "from-env")
    assert read_config(_write_config(tmp_path / "st")).api_key == "from-env"


def test_read_config_explicit_key_overrides_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STGUIAPIKEY", "from-env")
    assert read_config(_write_config(tmp_path / "st"), api_key="given").api_key == "given"


def test_read_config_repr_hides_api_key(tmp_path: Path) -> None:
    assert KEY not in repr(read_config(_write_config(tmp_path / "st")))


def test_read_config_without_key_fails(tmp_path: Path) -> None:
    with pytest.raises(SyncthingConfigMissing, match="has no API key"):
        read_config(_write_config(tmp_path / "st", key=""))


def test_read_config_unparseable_fails_with_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "config.xml").write_text("<configuration")
    with pytest.raises(SyncthingConfigMissing, match="cannot be read"):
        read_config(tmp_path)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1:8384", True),
        ("localhost:8384", True),
        ("[::1]:8384", True),
        ("0.0.0.0:8384", False),
        ("[::]:8384", False),
        ("192.168.1.5:8384", False),
        ("https://10.0.0.2:8384", False),
    ],
)
def test_gui_is_loopback(address: str, loopback: bool) -> None:
    assert gui_is_loopback(address) is loopback


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("127.0.0.1:8384", "http://127.0.0.1:8384"),
        ("0.0.0.0:9000", "http://127.0.0.1:9000"),
        ("[::]:8384", "http://[::1]:8384"),
        ("https://127.0.0.1:8384", "https://127.0.0.1:8384"),
    ],
)
def test_gui_base_url_reaches_wildcard_binds_on_loopback(address: str, url: str) -> None:
    assert gui_base_url(address) == url


def test_harden_config_turns_off_everything_network_facing(tmp_path: Path) -> None:
    home = _write_config(tmp_path / "st")
    harden_config(home, gui_address="127.0.0.1:1234", listen_address="tcp://127.0.0.1:2345")
    root = _parse(home / "config.xml")
    assert root.findtext("gui/address") == "127.0.0.1:1234"
    assert [e.text for e in root.findall("options/listenAddress")] == ["tcp://127.0.0.1:2345"]
    for tag in ("globalAnnounceEnabled", "localAnnounceEnabled", "relaysEnabled", "natEnabled"):
        assert root.findtext(f"options/{tag}") == "false"
    assert root.findtext("options/urAccepted") == "-1"


def test_harden_config_keeps_file_private(tmp_path: Path) -> None:
    home = _write_config(tmp_path / "st")
    harden_config(home)
    assert (home / "config.xml").stat().st_mode & 0o777 == 0o600


@needs_syncthing
def test_device_id_from_cert_matches_syncthing(tmp_path: Path) -> None:
    assert SYNCTHING is not None
    made = generate_config(SYNCTHING, tmp_path / "st")
    told = subprocess.run(
        [SYNCTHING, "serve", f"--home={tmp_path / 'st'}", "--device-id"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert made.canonical == told == str(device_id_from_cert(tmp_path / "st"))


@needs_syncthing
def test_harden_config_on_generated_config_sets_every_option(tmp_path: Path) -> None:
    assert SYNCTHING is not None
    generate_config(SYNCTHING, tmp_path / "st")
    harden_config(tmp_path / "st", listen_address="tcp://127.0.0.1:2345", reconnection_interval_s=1)
    options = _parse(tmp_path / "st" / "config.xml").find("options")
    assert options is not None
    assert options.findtext("startBrowser") == "false"
    assert options.findtext("autoUpgradeIntervalH") == "0"
    assert options.findtext("reconnectionIntervalS") == "1"
    assert options.find("globalAnnounceServer") is None
