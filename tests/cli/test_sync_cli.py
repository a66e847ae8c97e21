"""`roam setup`, `roam status` and `roam peers` against real Syncthing on 127.0.0.1.

The e2e tests share one machine set up once per module (``machine``); tests that need a fresh
machine or two make their own. Every node started by ``roam setup`` is stopped by a finaliser.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.syncthing.config import generate_config, harden_config
from tests.support.cluster import discard_pid, wait_until
from tests.support.machine import (
    Machine,
    fake_device_id,
    machine_set_up,
    new_machine,
    private_env,
)
from tests.support.syncthing_bin import SYNCTHING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from typer.testing import Result


needs_syncthing = pytest.mark.skipif(SYNCTHING is None, reason="syncthing is not installed")


OTHER = fake_device_id("another machine")


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    """A machine on which `roam setup` has run once (module-scoped: one node for many tests)."""
    if SYNCTHING is None:
        pytest.skip("syncthing is not installed")
    with machine_set_up(tmp_path_factory.mktemp("machine")) as made:
        yield made


@pytest.fixture
def make_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Machine]]:
    """Factory for fresh machines owned by one test; their nodes are stopped afterwards."""
    for name, value in private_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    made: list[Machine] = []

    def make(name: str) -> Machine:
        made.append(new_machine(tmp_path / name))
        return made[-1]

    try:
        yield make
    finally:
        for each in made:
            discard_pid(each.syncthing_home)


def _json(result: Result) -> dict[str, Any]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def _no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- failures that need no running Syncthing --------------------------------------------------


def test_setup_without_syncthing_on_path_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ROAM_SYNCTHING_BIN", raising=False)
    result = new_machine(tmp_path).setup()
    assert result.exit_code == 3
    assert "Syncthing is not installed" in result.output
    _no_traceback(result)


def test_status_without_syncthing_on_path_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ROAM_SYNCTHING_BIN", raising=False)
    result = new_machine(tmp_path).roam("status")
    assert result.exit_code == 3
    assert "Syncthing is not installed" in result.output


@needs_syncthing
def test_status_when_syncthing_is_not_running_says_so(tmp_path: Path) -> None:
    assert SYNCTHING is not None
    made = new_machine(tmp_path)
    generate_config(SYNCTHING, made.syncthing_home)
    harden_config(made.syncthing_home, gui_address=made.gui, listen_address=made.listen)
    result = made.roam("status")
    assert result.exit_code == 4
    assert f"Syncthing is not running (nothing answers at http://{made.gui})." in result.output
    assert "roam setup" in result.output
    _no_traceback(result)


@needs_syncthing
def test_status_without_config_points_at_setup(tmp_path: Path) -> None:
    result = new_machine(tmp_path).roam("status")
    assert result.exit_code == 3
    assert "There is no Syncthing config.xml in" in result.output


def test_setup_rejects_malformed_device_id_before_touching_syncthing(tmp_path: Path) -> None:
    result = new_machine(tmp_path).setup("--device-id", "PEER1111")
    assert result.exit_code == 2
    assert "'PEER1111' is not a Syncthing device ID" in result.output
    assert not (tmp_path / "syncthing").exists()
    _no_traceback(result)


def test_peers_add_rejects_malformed_device_id(tmp_path: Path) -> None:
    result = new_machine(tmp_path).peers("add", OTHER[:-1] + "A")
    assert result.exit_code == 2
    assert "is not a Syncthing device ID" in result.output


def test_peers_accept_rejects_malformed_device_id(tmp_path: Path) -> None:
    result = new_machine(tmp_path).peers("accept", OTHER[:-1] + "A")
    assert result.exit_code == 2
    assert "is not a Syncthing device ID" in result.output
    _no_traceback(result)


def test_peers_add_rejects_bad_address(tmp_path: Path) -> None:
    result = new_machine(tmp_path).peers("add", OTHER, "--address", "laptop:22000")
    assert result.exit_code == 2
    assert "'laptop:22000' is not a Syncthing address." in result.output


VAULT = fake_device_id("an always-on node")
VAULT_SECRET = "vault-pw-never-printed-0123"  # noqa: S105 - a test secret that must never leak


def _vault_password(root: Path, mode: int = 0o600) -> Path:
    path = root / "vault-password"
    path.write_text(VAULT_SECRET + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def test_peers_add_untrusted_without_password_file_is_refused(tmp_path: Path) -> None:
    result = new_machine(tmp_path).peers("add", VAULT, "--untrusted")
    assert result.exit_code == 2
    assert "--untrusted and --password-file go together." in result.output
    _no_traceback(result)


def test_peers_add_password_file_without_untrusted_is_refused(tmp_path: Path) -> None:
    result = new_machine(tmp_path).peers(
        "add", VAULT, "--password-file", str(_vault_password(tmp_path))
    )
    assert result.exit_code == 2
    assert "--untrusted and --password-file go together." in result.output


def test_peers_add_untrusted_missing_password_file_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    result = new_machine(tmp_path).peers(
        "add", VAULT, "--untrusted", "--password-file", str(missing)
    )
    assert result.exit_code == 2
    assert "does not exist." in result.output
    _no_traceback(result)


def test_peers_add_untrusted_world_readable_password_file_is_refused(tmp_path: Path) -> None:
    secret = _vault_password(tmp_path, mode=0o644)
    result = new_machine(tmp_path).peers(
        "add", VAULT, "--untrusted", "--password-file", str(secret)
    )
    assert result.exit_code == 2
    assert "can be read by other users" in result.output
    assert VAULT_SECRET not in result.output
    _no_traceback(result)


def test_setup_refuses_gui_on_network_address(tmp_path: Path) -> None:
    result = new_machine(tmp_path).roam("setup", "--gui-address", "0.0.0.0:8384")
    assert result.exit_code == 2
    assert "would open Syncthing's API to the network" in result.output


@needs_syncthing
def test_setup_refuses_existing_config_with_gui_on_network(tmp_path: Path) -> None:
    assert SYNCTHING is not None
    made = new_machine(tmp_path)
    generate_config(SYNCTHING, made.syncthing_home)
    harden_config(made.syncthing_home, gui_address="0.0.0.0:8384")
    result = made.roam("setup")
    assert result.exit_code == 3
    assert "listens on 0.0.0.0:8384, reachable from other machines" in result.output
    assert "--allow-remote-gui" in result.output


def test_setup_error_under_json_is_an_envelope(tmp_path: Path) -> None:
    result = new_machine(tmp_path).roam("--json", "setup", "--device-id", "nope")
    assert result.exit_code == 2
    assert _json(result)["error"]["type"] == "InvalidInput"


# -- one machine, set up once ------------------------------------------------------------------


@pytest.mark.e2e
def test_setup_creates_folder_with_roam_settings(machine: Machine) -> None:
    with machine.client() as client:
        folder = client.folder("claude-projects")
    assert Path(folder.path) == machine.projects_dir
    assert folder.fs_watcher_enabled
    assert folder.fs_watcher_delay_s == 1
    assert folder.max_conflicts == -1
    assert folder.type == "sendreceive"


@pytest.mark.e2e
def test_setup_keeps_gui_and_listen_on_loopback_without_discovery(machine: Machine) -> None:
    with machine.client() as client:
        options = client.options()
        gui = client.gui()
    assert gui["address"] == machine.gui
    assert options["listenAddresses"] == [machine.listen]
    for key in ("globalAnnounceEnabled", "localAnnounceEnabled", "relaysEnabled", "natEnabled"):
        assert options[key] is False, key


@pytest.mark.e2e
def test_setup_installs_stignore_from_template(machine: Machine) -> None:
    text = (machine.projects_dir / ".stignore").read_text()
    assert "(?d).roam-tmp-*" in text
    assert (machine.projects_dir / ".stignore").stat().st_mode & 0o777 == 0o600


@pytest.mark.e2e
def test_setup_run_twice_changes_nothing(machine: Machine) -> None:
    config_xml = (machine.syncthing_home / "config.xml").read_bytes()
    with machine.client() as client:
        before = client.config()
    result = machine.setup()
    assert result.exit_code == 0, result.output
    assert "Nothing to change" in result.output
    with machine.client() as client:
        assert client.config() == before
    assert (machine.syncthing_home / "config.xml").read_bytes() == config_xml


@pytest.mark.e2e
def test_setup_prints_device_id_and_next_step(machine: Machine) -> None:
    result = machine.roam("--json", "setup")
    data = _json(result)
    assert data["schema"] == "roam.setup/1"
    assert data["next_step"] == (
        f"roam setup --device-id {data['device_id']} --address {machine.listen}"
    )
    assert data["changes"] == []


@pytest.mark.e2e
def test_status_reports_folder_peers_and_version(machine: Machine) -> None:
    result = machine.roam("--json", "status")
    assert result.exit_code == 0, result.output
    data = _json(result)
    assert data["schema"] == "roam.status/1"
    assert data["syncthing"]["version"].startswith("v")
    assert data["syncthing"]["gui_on_loopback"] is True
    assert data["folder"]["id"] == "claude-projects"


@pytest.mark.e2e
def test_status_finds_the_home_setup_recorded_and_says_a_reboot_would_stop_it(
    machine: Machine,
) -> None:
    result = CliRunner().invoke(
        app, ["--claude-dir", str(machine.claude_dir), "status"], env=private_env(machine.root)
    )
    assert result.exit_code == 0, result.output
    assert "Syncthing after a reboot: started by roam in the background (pid" in result.output
    assert "nothing starts it after a reboot" in result.output


@pytest.mark.e2e
def test_lease_status_finds_the_home_setup_recorded(machine: Machine) -> None:
    result = CliRunner().invoke(
        app,
        ["--claude-dir", str(machine.claude_dir), "lease", "status"],
        env=private_env(machine.root),
    )
    assert result.exit_code == 0, result.output


@pytest.mark.e2e
def test_status_counts_conflict_copies_waiting(machine: Machine) -> None:
    project = machine.projects_dir / "-home-user-proj"
    project.mkdir(parents=True, exist_ok=True)
    # a session's copy (what `roam conflicts list` shows); a stray `s.sync-conflict-…` is not
    copy = (
        project / "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70.sync-conflict-20261125-131239-MRUWJBM.jsonl"
    )
    copy.write_text("{}\n")
    try:
        result = machine.roam("status")
        assert result.exit_code == 0, result.output
        assert "Conflict copies waiting: 1" in result.output
        assert "roam conflicts list" in result.output
    finally:
        copy.unlink()


@pytest.mark.e2e
def test_status_with_wrong_api_key_is_rejected(machine: Machine) -> None:
    result = machine.roam("status", env={"STGUIAPIKEY": "not-the-key"})
    assert result.exit_code == 4
    assert "refused the API key (403)" in result.output
    assert "not-the-key" not in result.output
    _no_traceback(result)


@pytest.mark.e2e
def test_peers_add_list_remove_round_trip(machine: Machine) -> None:
    added = machine.peers(
        "add", OTHER.lower(), "--name", "laptop", "--address", "tcp://127.0.0.1:9"
    )
    assert added.exit_code == 0, added.output
    assert f"laptop ({OTHER}): added" in added.output
    listed = _json(machine.peers("list", "--json"))
    assert [(p["device_id"], p["shares_folder"]) for p in listed["peers"]] == [(OTHER, True)]
    removed = machine.peers("remove", OTHER)
    assert removed.exit_code == 0
    assert "removed" in removed.output
    assert _json(machine.peers("list", "--json"))["peers"] == []


@pytest.mark.e2e
def test_peers_list_prints_whole_device_id(machine: Machine) -> None:
    assert machine.peers("add", OTHER, "--name", "laptop").exit_code == 0
    try:
        listed = machine.peers("list")
        assert listed.exit_code == 0
        assert OTHER in listed.output
        assert "laptop" in listed.output
    finally:
        machine.peers("remove", OTHER)


@pytest.mark.e2e
def test_status_lists_peer_and_what_it_needs(machine: Machine) -> None:
    assert machine.peers("add", OTHER, "--name", "laptop").exit_code == 0
    try:
        result = machine.roam("status")
        assert result.exit_code == 0, result.output
        assert "laptop" in result.output
        assert OTHER[:7] in result.output
    finally:
        machine.peers("remove", OTHER)


@pytest.mark.e2e
def test_peers_add_twice_is_unchanged(machine: Machine) -> None:
    assert machine.peers("add", OTHER).exit_code == 0
    try:
        again = machine.peers("add", OTHER)
        assert again.exit_code == 0
        assert "unchanged" in again.output
    finally:
        machine.peers("remove", OTHER)


@pytest.mark.e2e
def test_peers_remove_unknown_peer_says_so(machine: Machine) -> None:
    result = machine.peers("remove", OTHER)
    assert result.exit_code == 2
    assert f"{OTHER[:7]} is not a peer of this machine." in result.output
    _no_traceback(result)


@pytest.mark.e2e
def test_peers_add_own_id_is_refused(machine: Machine) -> None:
    own = _json(machine.roam("--json", "status"))["syncthing"]["device_id"]
    result = machine.peers("add", own)
    assert result.exit_code == 2
    assert "is this machine's own device ID" in result.output


@pytest.mark.e2e
def test_peers_add_untrusted_shares_folder_encrypted(machine: Machine) -> None:
    secret = _vault_password(machine.root)
    result = machine.peers(
        "add", VAULT, "--name", "nas", "--untrusted", "--password-file", str(secret), "--json"
    )
    try:
        assert result.exit_code == 0, result.output
        assert VAULT_SECRET not in result.output
        answer = _json(result)
        assert answer["untrusted"] is True
        assert (answer["device_id"], answer["action"]) == (VAULT, "added")
        with machine.client() as client:
            folder = next(f for f in client.folders() if f.path == str(machine.projects_dir))
            entries = {d["deviceID"]: d for d in folder.raw["devices"]}
            assert entries[VAULT]["encryptionPassword"] == VAULT_SECRET
            device = next(d for d in client.devices() if d.device_id == VAULT)
            assert device.raw["untrusted"] is True
    finally:
        machine.peers("remove", VAULT)


# -- fresh machines ------------------------------------------------------------------------


@pytest.mark.e2e
def test_setup_reuses_existing_folder_for_the_same_path(
    make_machine: Callable[[str], Machine],
) -> None:
    legacy = make_machine("legacy")
    assert legacy.setup("--folder-id", "claude-sessions").exit_code == 0
    result = legacy.roam("--json", "setup")
    assert _json(result)["folder_id"] == "claude-sessions"
    with legacy.client() as client:
        assert [f.id for f in client.folders()] == ["claude-sessions"]


@pytest.mark.e2e
def test_setup_merges_missing_patterns_into_users_stignore(
    make_machine: Callable[[str], Machine],
) -> None:
    made = make_machine("own-ignores")
    made.projects_dir.mkdir(parents=True)
    (made.projects_dir / ".stignore").write_text("my-private-notes\n")
    first = made.setup()
    assert first.exit_code == 0, first.output
    assert "appended" in first.output
    text = (made.projects_dir / ".stignore").read_text()
    assert text.startswith("my-private-notes\n")
    assert "(?d).roam-tmp-*" in text
    assert "Nothing to change" in made.setup().output


@pytest.mark.e2e
def test_setup_on_two_machines_pairs_them_and_syncs_a_session(
    make_machine: Callable[[str], Machine],
) -> None:
    a, b = make_machine("a"), make_machine("b")
    id_a = _json(a.roam("--json", *_setup_args(a)))["device_id"]
    id_b = _json(b.roam("--json", *_setup_args(b, "--device-id", id_a, "--address", a.listen)))[
        "device_id"
    ]
    # the earlier machine learns the later one's ID last; only it dials
    # (see engine/syncthing/cluster.py)
    assert a.setup("--device-id", id_b, "--address", b.listen).exit_code == 0
    session = a.projects_dir / "-home-user-proj" / "s.jsonl"
    session.parent.mkdir(parents=True)
    session.write_bytes(b'{"type":"user"}\n')
    target = b.projects_dir / "-home-user-proj" / "s.jsonl"
    wait_until(
        lambda: target.is_file() and target.read_bytes() == session.read_bytes(),
        timeout_s=30,
        what="session on machine b",
    )
    status = _json(a.roam("--json", "status"))
    assert [p["device_id"] for p in status["peers"]] == [id_b]


def _setup_args(made: Machine, *extra: str) -> list[str]:
    return [
        "setup",
        "--syncthing-home",
        str(made.syncthing_home),
        "--no-discovery",
        "--listen",
        made.listen,
        "--gui-address",
        made.gui,
        *extra,
    ]


def test_fake_device_id_is_valid() -> None:
    from session_roam.engine.syncthing.deviceid import parse_device_id

    assert parse_device_id(OTHER).canonical == OTHER
