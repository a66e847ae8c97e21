"""The version seam: which Syncthing roam runs, the command lines it builds for it, the configs
it refuses to start it on, and Syncthing 2.x's contract read from its source at v2.1.3.

No 2.x binary is reachable here, so 2.x is pinned by facts recorded from its source
(cmd/syncthing/main.go, cmd/syncthing/generate/generate.go, lib/config, lib/api, lib/model),
by a 2.x-shaped config.xml (fixtures/syncthing-2.1.3/config.xml) and by REST answers in 2.x's
shapes. 1.19.2 and 1.29.x are pinned the same way and also run for real in CI.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from session_roam.engine.syncthing.config import harden_config, read_config
from session_roam.engine.syncthing.folder import folder_body, folder_drift
from session_roam.engine.syncthing.models import FileInfo, FolderStatus, SyncthingVersion
from session_roam.engine.syncthing.version import (
    binary_version,
    check_can_read_config,
    config_version,
    generate_command,
    readable_config_version,
    serve_argv,
)
from session_roam.errors import SetupError

if TYPE_CHECKING:
    from collections.abc import Mapping

FIXTURE: Final = Path(__file__).parents[1].parent / "fixtures" / "syncthing-2.1.3" / "config.xml"
V1_19: Final = SyncthingVersion(1, 19, 2)
V1_29: Final = SyncthingVersion(1, 29, 5)
V2_1: Final = SyncthingVersion(2, 1, 3)
HOME: Final = Path("/h")

#: v2.1.3's long flags per command (kong: a field's kebab-case name unless name:"..." is set).
FLAGS_2X: Final[Mapping[str, frozenset[str]]] = {
    "": frozenset({"config", "data", "home", "version"}),
    "serve": frozenset(
        {
            "allow-newer-config",
            "audit",
            "auditfile",
            "db-maintenance-interval",
            "db-delete-retention-interval",
            "gui-address",
            "gui-apikey",
            "log-file",
            "logfile",
            "log-level",
            "log-max-old-files",
            "log-max-size",
            "no-browser",
            "no-port-probing",
            "no-restart",
            "no-upgrade",
            "paused",
            "unpaused",
        }
    ),
    "generate": frozenset({"gui-user", "gui-password", "no-port-probing"}),
}
#: v2.1.3's <options> tags (lib/config/optionsconfiguration.go).
OPTION_TAGS_2X: Final = frozenset(
    {
        "listenAddress",
        "globalAnnounceServer",
        "globalAnnounceEnabled",
        "localAnnounceEnabled",
        "localAnnouncePort",
        "localAnnounceMCAddr",
        "maxSendKbps",
        "maxRecvKbps",
        "reconnectionIntervalS",
        "relaysEnabled",
        "relayReconnectIntervalM",
        "startBrowser",
        "natEnabled",
        "natLeaseMinutes",
        "natRenewalMinutes",
        "natTimeoutSeconds",
        "urAccepted",
        "urSeen",
        "urUniqueID",
        "urURL",
        "urPostInsecurely",
        "urInitialDelayS",
        "autoUpgradeIntervalH",
        "upgradeToPreReleases",
        "keepTemporariesH",
        "progressUpdateIntervalS",
        "limitBandwidthInLan",
        "minHomeDiskFree",
        "releasesURL",
        "alwaysLocalNet",
        "overwriteRemoteDeviceNamesOnConnect",
        "tempIndexMinBlocks",
        "unackedNotificationID",
        "trafficClass",
        "defaultFolderPath",
        "setLowPriority",
        "maxFolderConcurrency",
        "crashReportingURL",
        "crashReportingEnabled",
        "stunKeepaliveStartS",
        "stunKeepaliveMinS",
        "stunServer",
        "maxConcurrentIncomingRequestKiB",
        "announceLANAddresses",
        "sendFullIndexOnUpgrade",
        "featureFlag",
        "auditEnabled",
        "auditFile",
        "connectionLimitEnough",
        "connectionLimitMax",
        "connectionPriorityTcpLan",
        "connectionPriorityQuicLan",
        "connectionPriorityTcpWan",
        "connectionPriorityQuicWan",
        "connectionPriorityRelay",
        "connectionPriorityUpgradeThreshold",
    }
)


def _long_flags(argv: list[str]) -> set[str]:
    return {a[2:].split("=")[0] for a in argv if a.startswith("--")}


def _fake_syncthing(tmp_path: Path, version_line: str, *, dash_version: bool = True) -> str:
    binary = tmp_path / "bin" / "syncthing"
    binary.parent.mkdir(parents=True, exist_ok=True)
    flag = "--version" if dash_version else "version"
    binary.write_text(
        f'#!/bin/sh\n[ "$1" = "{flag}" ] && {{ echo "{version_line}"; exit 0; }}\nexit 1\n'
    )
    binary.chmod(0o755)
    return str(binary)


def _home_with(tmp_path: Path, config: Path = FIXTURE) -> Path:
    home = tmp_path / "st"
    home.mkdir()
    shutil.copy(config, home / "config.xml")
    return home


# -- command lines ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [V1_19, V1_29, V2_1])
def test_serve_argv_uses_only_double_dash_flags_2x_knows(version: SyncthingVersion) -> None:
    argv = serve_argv("syncthing", HOME)
    assert argv[1] == "serve"
    assert not [a for a in argv[2:] if a.startswith("-") and not a.startswith("--")]
    assert _long_flags(argv) <= FLAGS_2X["serve"] | FLAGS_2X[""]


def test_generate_on_2x_uses_no_port_probing_and_the_variable_for_no_default_folder() -> None:
    argv, env = generate_command("syncthing", HOME, V2_1)
    assert argv == ["syncthing", "generate", "--home=/h", "--no-port-probing"]
    assert _long_flags(argv) <= FLAGS_2X["generate"] | FLAGS_2X[""]
    assert env == {"STNODEFAULTFOLDER": "1"}


@pytest.mark.parametrize("version", [V1_19, V1_29, None])
def test_generate_on_1x_or_unknown_keeps_the_1x_flags(version: SyncthingVersion | None) -> None:
    argv, env = generate_command("syncthing", HOME, version)
    assert argv[3:] == ["--no-default-folder", "--skip-port-probing"]
    assert env == {"STNODEFAULTFOLDER": "1"}


# -- detecting the version -------------------------------------------------------------------


def test_binary_version_reads_dash_dash_version(tmp_path: Path) -> None:
    line = 'syncthing v1.29.5 "Gold Grasshopper" (go1.24.2 linux-amd64) debian@debian'
    assert binary_version(_fake_syncthing(tmp_path, line)) == V1_29


def test_binary_version_falls_back_to_the_2x_version_subcommand(tmp_path: Path) -> None:
    line = 'syncthing v2.0.1 "Hafnium Hornet" (go1.24.5 darwin-arm64) builder@github.syncthing.net'
    found = binary_version(_fake_syncthing(tmp_path, line, dash_version=False))
    assert found == SyncthingVersion(2, 0, 1)


def test_binary_version_of_something_else_is_none(tmp_path: Path) -> None:
    assert binary_version(_fake_syncthing(tmp_path, "not a version at all")) is None


# -- configs a binary can read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "readable"),
    [
        (V1_19, 36),
        (SyncthingVersion(1, 19, 0), 35),
        (SyncthingVersion(1, 27, 2), 37),
        (V1_29, 37),
        (SyncthingVersion(2, 0, 0), 51),
        (V2_1, 52),
        (SyncthingVersion(2, 2, 0), None),
    ],
)
def test_readable_config_version_follows_syncthing_source(
    version: SyncthingVersion, readable: int | None
) -> None:
    assert readable_config_version(version) == readable


def test_config_version_reads_the_2x_fixture() -> None:
    assert config_version(FIXTURE.parent) == 52


def test_config_version_without_config_is_none(tmp_path: Path) -> None:
    assert config_version(tmp_path) is None


def test_older_binary_on_newer_config_is_refused_naming_the_version_to_use(
    tmp_path: Path,
) -> None:
    old = _fake_syncthing(tmp_path, "syncthing v1.29.5 (go1.24.2 linux-amd64)")
    home = _home_with(tmp_path)
    with pytest.raises(SetupError) as refused:
        check_can_read_config(old, home)
    assert refused.value.message == (
        f"Syncthing 1.29.5 ({old}) cannot read the config in {home}, which a newer Syncthing "
        "wrote (config version 52); run it with Syncthing 2.1.0 or newer."
    )
    assert "ROAM_SYNCTHING_BIN" in refused.value.hint
    assert refused.value.exit_code == 3


def test_binary_as_new_as_its_config_is_started(tmp_path: Path) -> None:
    binary = _fake_syncthing(tmp_path, "syncthing v2.1.3")
    assert check_can_read_config(binary, _home_with(tmp_path)) == V2_1


def test_binary_newer_than_roam_knows_is_left_to_syncthing(tmp_path: Path) -> None:
    binary = _fake_syncthing(tmp_path, "syncthing v2.4.0")
    assert check_can_read_config(binary, _home_with(tmp_path)) == SyncthingVersion(2, 4, 0)


# -- a 2.x config.xml that roam reads and edits ----------------------------------------------


def test_read_config_reads_a_2x_config(tmp_path: Path) -> None:
    config = read_config(_home_with(tmp_path))
    assert config.gui_address == "127.0.0.1:8384"
    assert config.api_key == "Zq9kT2wBv7LmN4xR8sYc3HdJ6pFa1GeU"
    assert config.listen_addresses == ("default",)


def test_harden_config_on_a_2x_config_sets_only_options_2x_has(tmp_path: Path) -> None:
    home = _home_with(tmp_path)
    harden_config(home, listen_address="tcp://127.0.0.1:22001", reconnection_interval_s=1)
    root = ET.parse(home / "config.xml").getroot()  # noqa: S314 - the test's own file
    options = root.find("options")
    assert options is not None
    assert {child.tag for child in options} <= OPTION_TAGS_2X
    assert options.findtext("globalAnnounceEnabled") == "false"
    assert options.findtext("reconnectionIntervalS") == "1"
    assert root.get("version") == "52"
    assert root.find("defaults/folder/pullerDelayS") is not None  # kept as 2.x wrote it


# -- REST answers in 2.x's shapes ------------------------------------------------------------


def test_folder_created_by_roam_asks_for_no_puller_delay() -> None:
    assert folder_body("claude-projects", "/p", ["A"])["pullerDelayS"] == 0


def test_2x_folder_with_the_default_puller_delay_drifts_to_zero() -> None:
    current = {**folder_body("claude-projects", "/p", ["A"]), "pullerDelayS": 1}
    assert folder_drift(current) == {"pullerDelayS": 0}


def test_1x_folder_without_puller_delay_does_not_drift() -> None:
    current = folder_body("claude-projects", "/p", ["A"])
    del current["pullerDelayS"]  # 1.x's /rest/config/folders has no such key
    assert folder_drift(current) == {}


def test_2x_db_file_answer_without_mtime_names_the_holders() -> None:
    # lib/api/api.go getDBFile: availability is a list of {"id", "fromTemporary"}
    answer = {
        "global": {"name": "p/s.jsonl", "sequence": 7, "modifiedBy": "HKHFN7Y"},
        "local": {"name": "p/s.jsonl", "sequence": 7},
        "availability": [{"id": "HKHFN7Y-7TI5ZIW", "fromTemporary": False}],
    }
    info = FileInfo.from_json(answer)
    assert info.availability == ("HKHFN7Y-7TI5ZIW",)
    assert info.global_sequence == 7


def test_2x_starting_folder_state_is_read_as_is() -> None:
    # lib/model/folderstate.go: FolderStarting -> "starting", before the first scan
    status = FolderStatus.from_json({"state": "starting", "errors": 0, "needFiles": 0})
    assert status.state == "starting"
