"""Another Syncthing on this host's ports (another user's, on the same GUI address): two real
Syncthing processes on 127.0.0.1. roam finds a taken port before it writes a config, repairs a
config it wrote and never started, and never calls someone else's node "running".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.syncthing.config import (
    device_id_from_cert,
    generate_config,
    harden_config,
    read_config,
)
from session_roam.engine.syncthing.instance import is_unstarted, mark_unstarted
from session_roam.engine.syncthing.node import PID_FILE, SyncthingProcess
from session_roam.engine.syncthing.service import ensure_running
from session_roam.errors import SyncthingUnreachable
from tests.support.cluster import discard_pid
from tests.support.machine import Machine, machine_set_up, new_machine, private_env
from tests.support.syncthing_bin import SYNCTHING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.skipif(SYNCTHING is None, reason="syncthing is not installed")


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    """Someone else's Syncthing, running, set up by roam in its own HOME."""
    with machine_set_up(tmp_path_factory.mktemp("other")) as made:
        yield made


@pytest.fixture
def mine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    for name, value in private_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    made = new_machine(tmp_path / "mine")
    try:
        yield made
    finally:
        discard_pid(made.syncthing_home)


def _config_on(made: Machine, gui: str, *, by_roam: bool) -> None:
    """A config in ``made``'s home whose GUI address is ``gui``, never started."""
    assert SYNCTHING is not None
    generate_config(SYNCTHING, made.syncthing_home)
    harden_config(made.syncthing_home, gui_address=gui, listen_address=made.listen)
    if by_roam:
        mark_unstarted(made.syncthing_home)


def test_setup_refuses_a_taken_gui_port_before_writing_any_config(
    other: Machine, mine: Machine
) -> None:
    result = mine.roam("setup", "--no-discovery", "--gui-address", other.gui)
    assert result.exit_code == 2, result.output
    assert "is already taken by another program" in result.output
    assert "--gui-address 127.0.0.1:" in result.output
    assert not (mine.syncthing_home / "config.xml").exists()


def test_setup_refuses_a_taken_listen_port_before_writing_any_config(
    other: Machine, mine: Machine
) -> None:
    result = mine.roam(
        "setup", "--no-discovery", "--gui-address", mine.gui, "--listen", other.listen
    )
    assert result.exit_code == 2, result.output
    assert "--listen tcp://127.0.0.1:" in result.output
    assert not (mine.syncthing_home / "config.xml").exists()


def test_rerun_with_flags_repairs_a_config_roam_wrote_and_never_started(
    other: Machine, mine: Machine
) -> None:
    _config_on(mine, other.gui, by_roam=True)
    result = mine.setup()
    assert result.exit_code == 0, result.output
    status = json.loads(mine.roam("--json", "status").stdout)
    assert status["syncthing"]["device_id"] == str(device_id_from_cert(mine.syncthing_home))
    assert status["syncthing"]["gui_url"] == f"http://{mine.gui}"
    assert not is_unstarted(mine.syncthing_home)


def test_rerun_without_flags_moves_roam_s_unstarted_config_to_a_free_port(
    other: Machine, mine: Machine
) -> None:
    _config_on(mine, other.gui, by_roam=True)
    result = mine.roam("setup", "--no-discovery", "--listen", mine.listen)
    assert result.exit_code == 0, result.output
    assert f"{other.gui} is taken by another program; using 127.0.0.1:" in result.output
    status = json.loads(mine.roam("--json", "status").stdout)
    assert status["syncthing"]["device_id"] == str(device_id_from_cert(mine.syncthing_home))


def test_setup_on_a_users_config_whose_port_is_taken_names_the_flag(
    other: Machine, mine: Machine
) -> None:
    _config_on(mine, other.gui, by_roam=False)
    result = mine.roam("setup", "--no-discovery", "--listen", mine.listen)
    assert result.exit_code == 2, result.output
    assert "--gui-address 127.0.0.1:" in result.output
    assert "STGUIAPIKEY" not in result.output


def test_status_says_the_syncthing_answering_is_someone_elses(
    other: Machine, mine: Machine
) -> None:
    _config_on(mine, other.gui, by_roam=False)
    result = mine.roam("status")
    assert result.exit_code == 4, result.output
    assert f"is not the one in {mine.syncthing_home}" in result.output
    assert "STGUIAPIKEY" not in result.output


def test_verify_does_not_call_someone_elses_syncthing_running(
    other: Machine, mine: Machine
) -> None:
    _config_on(mine, other.gui, by_roam=False)
    result = mine.roam("--json", "verify", "--syncthing-home", str(mine.syncthing_home))
    assert result.exit_code == 7, result.output
    findings = {f["dimension"]: f for f in json.loads(result.stdout)["findings"]}
    assert findings["service"]["status"] == "fail"
    assert "another Syncthing" in findings["service"]["message"]


def test_roam_cr_s_start_never_takes_someone_elses_syncthing_for_its_own(
    other: Machine, mine: Machine
) -> None:
    _config_on(mine, other.gui, by_roam=False)
    with pytest.raises(SyncthingUnreachable, match=f"is not the one in {mine.syncthing_home}"):
        ensure_running(read_config(mine.syncthing_home), use_systemd=False, timeout_s=5)
    assert not (mine.syncthing_home / PID_FILE).exists()  # nothing was started


def test_setup_never_starts_a_second_syncthing_on_a_home_one_already_serves(
    mine: Machine,
) -> None:
    _config_on(mine, mine.gui, by_roam=False)
    with SyncthingProcess(mine.syncthing_home).start() as node:
        elsewhere = new_machine(mine.root / "x").gui  # as if started with another GUI address
        harden_config(mine.syncthing_home, gui_address=elsewhere)
        result = mine.roam("setup", "--no-discovery", "--listen", mine.listen)
        assert result.exit_code == 3, result.output
        assert "already serves" in result.output
        assert "never starts a second one" in result.output
        assert node.pid is not None


def test_a_wrong_stguiapikey_is_a_refused_key_not_someone_elses_syncthing(
    other: Machine,
) -> None:
    argv = ("--json", "verify", "--syncthing-home", str(other.syncthing_home))
    result = other.roam(*argv, env={"STGUIAPIKEY": "not-the-key"})
    assert result.exit_code == 7, result.output
    findings = {f["dimension"]: f for f in json.loads(result.stdout)["findings"]}
    assert findings["api"]["fix"] == "unset STGUIAPIKEY"
    assert "another Syncthing" not in findings["service"]["message"]
