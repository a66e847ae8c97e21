"""`roam setup` runs `roam watch` at login by default, on a real Syncthing (127.0.0.1) and a
stand-in systemctl: never the developer's own service manager (tests/conftest.py)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import pytest

from session_roam.engine.setup.watch_service import SYSTEMD_UNIT, service_file
from tests.support.cluster import discard_pid
from tests.support.machine import Machine, new_machine, private_env
from tests.support.schemas import check_schema
from tests.support.syncthing_bin import SYNCTHING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from typer.testing import Result

    from tests.support.service_manager import FakeSystemctl

pytest_plugins = ["tests.support.service_manager"]
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(SYNCTHING is None, reason="syncthing is not installed"),
    pytest.mark.skipif(sys.platform == "darwin", reason="systemd is Linux's"),
]

START = f"--user enable --now {SYSTEMD_UNIT}"


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    """A fresh machine in its own HOME; Syncthing runs as roam's background process."""
    for name, value in private_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ROAM_NO_SYSTEMD")  # the watch is set up through PATH's systemctl
    made = new_machine(tmp_path / "m")
    try:
        yield made
    finally:
        discard_pid(made.syncthing_home)


def _unit(made: Machine) -> Path:
    return service_file("systemd", made.root.parent / "home")


def _watch(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    check_schema(document, "roam.setup-1")
    watch = document["watch"]
    assert isinstance(watch, dict)
    return watch


def test_setup_installs_and_starts_the_watch_service(
    machine: Machine, fake_systemctl: FakeSystemctl
) -> None:
    watch = _watch(machine.setup(before=("--json",)))
    assert (watch["state"], watch["path"]) == ("installed", str(_unit(machine)))
    assert _unit(machine).is_file()
    assert START in fake_systemctl.calls()


def test_setup_says_what_the_watch_service_is_for(
    machine: Machine, fake_systemctl: FakeSystemctl
) -> None:
    result = machine.setup()
    assert result.exit_code == 0, result.output
    assert "merges conflict copies as they arrive" in result.output
    assert "starts `roam cr` faster): installed" in result.output


def test_setup_run_again_says_the_watch_is_already_installed(
    machine: Machine, fake_systemctl: FakeSystemctl
) -> None:
    assert machine.setup().exit_code == 0
    again = machine.setup()
    assert again.exit_code == 0, again.output
    assert "already installed" in again.output
    assert fake_systemctl.calls().count(START) == 1


def test_setup_no_watch_installs_nothing_and_says_how_to_add_it(
    machine: Machine, fake_systemctl: FakeSystemctl
) -> None:
    result = machine.setup("--no-watch")
    assert result.exit_code == 0, result.output
    assert "roam watch install" in result.output
    assert not _unit(machine).exists()
    assert not [call for call in fake_systemctl.calls() if SYSTEMD_UNIT in call]


def test_setup_no_watch_json_says_skipped(machine: Machine) -> None:
    assert _watch(machine.setup("--no-watch", before=("--json",)))["state"] == "skipped"


def test_setup_without_a_service_manager_warns_and_succeeds(machine: Machine) -> None:
    # only clean_environ's systemctl here: it fails like one without a user instance
    result = machine.setup()
    assert result.exit_code == 0, result.output
    assert "warning: roam watch is not running" in result.output
    assert "`roam watch` in a terminal" in result.output
    assert not _unit(machine).exists()


def test_setup_without_a_service_manager_json_says_unavailable(machine: Machine) -> None:
    watch = _watch(machine.setup(before=("--json",)))
    assert (watch["state"], watch["path"]) == ("unavailable", None)


def test_setup_run_again_after_watch_uninstall_says_you_removed_it(
    machine: Machine, fake_systemctl: FakeSystemctl
) -> None:
    assert machine.setup().exit_code == 0
    assert machine.roam("watch", "uninstall").exit_code == 0
    again = machine.setup()
    assert again.exit_code == 0, again.output
    assert "not installed: you removed it; `roam watch install` brings it back" in again.output
    assert not _unit(machine).exists()


def test_setup_run_again_after_the_unit_was_deleted_by_hand_says_so_and_leaves_it(
    machine: Machine, fake_systemctl: FakeSystemctl
) -> None:
    assert machine.setup().exit_code == 0
    _unit(machine).unlink()
    again = machine.setup()
    assert again.exit_code == 0, again.output
    said = " ".join(again.output.split())
    assert "not installed: its file was deleted, not by roam; `roam watch install` brings" in said
    assert not _unit(machine).exists()


def test_setup_watch_installs_the_service_you_removed(
    machine: Machine, fake_systemctl: FakeSystemctl
) -> None:
    assert machine.setup().exit_code == 0
    assert machine.roam("watch", "uninstall").exit_code == 0
    watch = _watch(machine.setup("--watch", before=("--json",)))
    assert (watch["state"], watch["path"]) == ("installed", str(_unit(machine)))


def test_setup_run_again_leaves_a_watch_unit_you_edited_and_says_so(
    machine: Machine, fake_systemctl: FakeSystemctl
) -> None:
    assert machine.setup().exit_code == 0
    _unit(machine).write_text("[Service]\nExecStart=/usr/bin/env roam watch\n")
    watch = _watch(machine.setup(before=("--json",)))
    assert (watch["state"], watch["path"]) == ("edited", str(_unit(machine)))
    assert _unit(machine).read_text() == "[Service]\nExecStart=/usr/bin/env roam watch\n"
