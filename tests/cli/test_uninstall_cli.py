"""`roam uninstall` on a machine `roam setup` set up with a real Syncthing on 127.0.0.1: it
undoes what roam set up, never a session, never a Syncthing the user ran, and twice is once."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from session_roam.cli import uninstall as uninstall_cli
from session_roam.cli.app import app
from session_roam.engine.core.procs import pid_alive
from session_roam.engine.syncthing.config import config_folders
from session_roam.engine.syncthing.node import PID_FILE, SyncthingProcess, stop_pid
from tests.support.cluster import discard_pid
from tests.support.machine import Machine, new_machine, private_env
from tests.support.schemas import check_schema
from tests.support.syncthing_bin import SYNCTHING

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.skipif(SYNCTHING is None, reason="syncthing is not installed")


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    """A machine roam set up: its own Syncthing (in the background), hooks, shell, watch."""
    for name, value in private_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SHELL", "/bin/bash")
    made = new_machine(tmp_path / "m")
    try:
        assert made.setup().exit_code == 0
        for argv in (
            ("hooks", "install"),
            ("shell", "install"),
            ("watch", "install", "--no-start"),
        ):
            result = made.roam(*argv)
            assert result.exit_code == 0, result.output
        yield made
    finally:
        discard_pid(made.syncthing_home)


def _uninstall(made: Machine, *extra: str) -> tuple[int, dict[str, Any]]:
    result = made.roam("--json", "uninstall", *extra)
    document = json.loads(result.stdout)
    check_schema(document, "roam.uninstall-1")
    return result.exit_code, document


def _actions(document: dict[str, Any]) -> dict[str, str]:
    return {step["part"]: step["action"] for step in document["steps"]}


def _session(made: Machine) -> Path:
    session = made.projects_dir / "-work-proj" / "0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40.jsonl"
    session.parent.mkdir(parents=True, exist_ok=True)
    session.write_text('{"type":"user"}\n')
    return session


def test_uninstall_undoes_everything_roam_set_up_and_keeps_the_sessions(
    machine: Machine,
) -> None:
    session = _session(machine)
    pid = int((machine.syncthing_home / PID_FILE).read_text())
    code, document = _uninstall(machine, "--yes")
    assert code == 0, document["steps"]
    actions = _actions(document)
    for part in ("watch service", "hooks", "shell (bash)", "folder share", "syncthing", "config"):
        assert actions[part] == "removed", (part, document)
    assert session.read_text() == '{"type":"user"}\n'
    assert config_folders(machine.syncthing_home) == ()
    assert not pid_alive(pid)
    assert not (Path(os.environ["HOME"]) / ".bashrc").read_text().count("session-roam")
    assert any(str(machine.projects_dir) in kept for kept in document["kept"])


def test_uninstall_twice_has_nothing_left_to_do(machine: Machine) -> None:
    assert _uninstall(machine, "--yes")[0] == 0
    code, document = _uninstall(machine, "--yes")
    assert code == 0
    assert set(_actions(document).values()) == {"nothing to do"}, document


def test_uninstall_dry_run_changes_nothing(machine: Machine) -> None:
    before = (machine.syncthing_home / "config.xml").read_bytes()
    code, document = _uninstall(machine, "--dry-run")
    assert code == 0
    assert _actions(document)["folder share"] == "would remove"
    assert _actions(document)["syncthing"] == "would remove"
    assert (machine.syncthing_home / "config.xml").read_bytes() == before
    assert machine.roam("status").exit_code == 0


def test_uninstall_dry_run_names_an_old_alias_roam_turned_off_elsewhere(
    machine: Machine,
) -> None:
    home = Path(os.environ["HOME"])
    assert machine.roam("shell", "uninstall").exit_code == 0
    (home / ".bash_aliases").write_text("alias cr='sleep 2 && claude -c'\n")
    assert machine.roam("shell", "install").exit_code == 0  # turns the old alias off
    bashrc = home / ".bashrc"
    bashrc.write_text("")  # roam's block gone by hand; the alias it turned off is still off
    code, document = _uninstall(machine, "--dry-run")
    steps = {step["part"]: step for step in document["steps"]}
    assert code == 0
    assert steps["shell (bash)"]["action"] == "would remove", steps["shell (bash)"]
    assert ".bash_aliases" in steps["shell (bash)"]["detail"]
    assert _uninstall(machine, "--yes")[0] == 0
    assert "alias cr='sleep 2 && claude -c'" in (home / ".bash_aliases").read_text().splitlines()


def test_uninstall_without_a_terminal_asks_for_yes_before_it_stops_sharing(
    machine: Machine,
) -> None:
    result = machine.roam("uninstall")
    assert result.exit_code == 2
    assert "roam uninstall --yes" in result.output
    assert config_folders(machine.syncthing_home) != ()


def test_uninstall_never_stops_a_syncthing_the_user_ran_before_roam(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in private_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    made = new_machine(tmp_path / "m")
    assert made.setup().exit_code == 0  # generates the home, then stop it: the user's now
    stop_pid(made.syncthing_home)
    state = Path(os.environ["XDG_STATE_HOME"]) / "session-roam" / "syncthing-supervision.json"
    state.unlink()
    with SyncthingProcess(made.syncthing_home).start():
        code, document = _uninstall(made, "--yes")
        assert code == 0, document["steps"]
        assert _actions(document)["syncthing"] == "kept"
        assert _actions(document)["folder share"] == "removed"
        with made.client() as client:
            client.ping()  # still running
            assert client.folders() == []


def test_uninstall_on_a_terminal_asks_and_a_no_keeps_the_share(
    machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uninstall_cli, "_on_terminal", lambda: True)
    argv = ["--claude-dir", str(machine.claude_dir), "uninstall"]
    result = CliRunner().invoke(app, argv, input="n\n")
    assert result.exit_code == 0, result.output
    assert "Stop sharing the sessions folder" in result.output
    assert "folder share: Syncthing still shares" in result.output
    assert config_folders(machine.syncthing_home) != ()


def test_uninstall_with_the_syncthing_home_gone_still_undoes_the_rest(
    machine: Machine,
) -> None:
    stop_pid(machine.syncthing_home)
    (machine.syncthing_home / "config.xml").unlink()
    code, document = _uninstall(machine, "--yes")
    assert code == 3
    actions = _actions(document)
    assert actions["folder share"] == "failed"
    assert actions["hooks"] == "removed"
    assert actions["config"] == "removed"
    assert document["ok"] is False
