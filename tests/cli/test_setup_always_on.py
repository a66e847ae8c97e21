"""`roam setup --always-on`: an always-on node added as an untrusted device, the folder shared
with it encrypted, in one idempotent step - and the password never shown anywhere.

The first group needs no Syncthing: every bad combination fails before anything is touched.
The e2e tests use real Syncthing on 127.0.0.1 with the loopback options `roam setup` has
(``--no-discovery``, ``--listen``, ``--gui-address``): one machine set up once per module, and
one test with a second, real always-on node that must end up holding the session encrypted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner, Result

from session_roam.cli.app import app
from session_roam.engine.syncthing.cluster import free_ports
from session_roam.engine.syncthing.config import generate_config, harden_config
from session_roam.engine.syncthing.node import SyncthingProcess
from session_roam.engine.syncthing.peers import ensure_peer
from session_roam.engine.syncthing.untrusted import serve_encrypted_folder
from tests.support.cluster import discard, discard_pid, wait_until
from tests.support.machine import Machine, fake_device_id, new_machine, private_env
from tests.support.syncthing_bin import SYNCTHING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient

SECRET = "always-on-pw-must-never-leak-7319"  # noqa: S105 - a test secret that must never leak
FOLDER = "claude-projects"


VAULT = fake_device_id("the always-on node of test_setup_always_on")
VAULT_ADDRESS = "tcp://127.0.0.1:9"  # nothing listens: these tests check config, not traffic


def _password_file(root: Path, text: str = SECRET + "\n", mode: int = 0o600) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "vault-password"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def _always_on(password: Path, *extra: str) -> tuple[str, ...]:
    return ("--always-on", VAULT, "--password-file", str(password), *extra)


def _json(result: Result) -> dict[str, Any]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def _no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _private_env(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in private_env(root).items():
        monkeypatch.setenv(name, value)


# -- refused before Syncthing is touched -------------------------------------------------------


def test_setup_always_on_without_password_file_is_refused(tmp_path: Path) -> None:
    made = new_machine(tmp_path)
    result = made.setup("--always-on", VAULT)
    assert result.exit_code == 2
    assert "--always-on needs --password-file" in result.output
    assert "roam setup --always-on ID --password-file" in result.output
    assert not made.syncthing_home.exists()
    _no_traceback(result)


def test_setup_password_file_without_always_on_is_refused(tmp_path: Path) -> None:
    result = new_machine(tmp_path).setup("--password-file", str(_password_file(tmp_path)))
    assert result.exit_code == 2
    assert "--password-file is only used with --always-on ID." in result.output
    assert SECRET not in result.output


def test_setup_always_on_address_without_always_on_is_refused(tmp_path: Path) -> None:
    result = new_machine(tmp_path).setup("--always-on-address", VAULT_ADDRESS)
    assert result.exit_code == 2
    assert "--always-on-address is only used with --always-on ID." in result.output


def test_setup_always_on_malformed_device_id_is_refused(tmp_path: Path) -> None:
    made = new_machine(tmp_path)
    password = _password_file(tmp_path)
    result = made.setup("--always-on", "NAS1234", "--password-file", str(password))
    assert result.exit_code == 2
    assert "'NAS1234' is not a Syncthing device ID" in result.output
    assert not made.syncthing_home.exists()
    _no_traceback(result)


def test_setup_always_on_bad_address_is_refused(tmp_path: Path) -> None:
    password = _password_file(tmp_path)
    result = new_machine(tmp_path).setup(*_always_on(password, "--always-on-address", "nas:22000"))
    assert result.exit_code == 2
    assert "'nas:22000' is not a Syncthing address." in result.output


def test_setup_always_on_also_given_as_device_id_is_refused(tmp_path: Path) -> None:
    password = _password_file(tmp_path)
    result = new_machine(tmp_path).setup("--device-id", VAULT, *_always_on(password))
    assert result.exit_code == 2
    assert "given both as --device-id and as --always-on." in result.output


def test_setup_always_on_missing_password_file_says_so(tmp_path: Path) -> None:
    made = new_machine(tmp_path)
    result = made.setup(*_always_on(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "does not exist." in result.output
    assert "chmod 600" in result.output
    assert not made.syncthing_home.exists()


def test_setup_always_on_empty_password_file_says_so(tmp_path: Path) -> None:
    result = new_machine(tmp_path).setup(*_always_on(_password_file(tmp_path, "\n")))
    assert result.exit_code == 2
    assert "is empty." in result.output


def test_setup_always_on_group_readable_password_file_is_refused(tmp_path: Path) -> None:
    password = _password_file(tmp_path, mode=0o640)
    result = new_machine(tmp_path).setup(*_always_on(password), before=("--json",))
    assert result.exit_code == 2
    assert _json(result)["error"]["type"] == "InvalidInput"
    assert "can be read by other users (mode 0640)" in result.output
    assert SECRET not in result.output
    _no_traceback(result)


def test_setup_help_teaches_always_on_with_an_example() -> None:
    result = CliRunner().invoke(app, ["setup", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    for text in ("--always-on", "--password-file", "--always-on-address", "--always-on-name"):
        assert text in result.output
    assert "roam setup --always-on NASID12-... --always-on-address" in result.output
    assert "--password-file ~/.config/session-roam/vault-password" in result.output


# -- one machine with an always-on node, set up once -------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass(frozen=True, slots=True)
class SetUp:
    """A machine after `roam --verbose setup --always-on ...` and a `--json` rerun of it."""

    machine: Machine
    password_file: Path
    first: Result
    again: Result
    log: str

    def args(self) -> tuple[str, ...]:
        return _always_on(
            self.password_file, "--always-on-name", "nas", "--always-on-address", VAULT_ADDRESS
        )


@pytest.fixture(scope="module")
def set_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SetUp]:
    if SYNCTHING is None:
        pytest.skip("syncthing is not installed")
    made = new_machine(tmp_path_factory.mktemp("always-on"))
    password = _password_file(made.root / "secrets")
    args = _always_on(password, "--always-on-name", "nas", "--always-on-address", VAULT_ADDRESS)
    collect, root = _Collect(), logging.getLogger()
    level = root.level
    with pytest.MonkeyPatch.context() as patch:
        _private_env(made.root, patch)
        root.addHandler(collect)
        root.setLevel(logging.DEBUG)
        try:
            first = made.setup(*args, before=("--verbose",))
            assert first.exit_code == 0, first.output
            again = made.setup(*args, before=("--json", "--verbose"))
            assert again.exit_code == 0, again.output
        finally:
            root.removeHandler(collect)
            root.setLevel(level)
        try:
            yield SetUp(made, password, first, again, "\n".join(collect.lines))
        finally:
            discard_pid(made.syncthing_home)


@pytest.mark.e2e
def test_setup_always_on_marks_node_untrusted_at_its_address(set_up: SetUp) -> None:
    with set_up.machine.client() as client:
        node = next(d for d in client.devices() if d.device_id == VAULT)
    assert node.raw["untrusted"] is True
    assert (node.name, node.addresses) == ("nas", (VAULT_ADDRESS,))


@pytest.mark.e2e
def test_setup_always_on_shares_folder_with_it_encrypted(set_up: SetUp) -> None:
    with set_up.machine.client() as client:
        folder = client.folder(FOLDER)
    entries = {e["deviceID"]: e for e in folder.raw["devices"]}
    assert entries[VAULT]["encryptionPassword"] == SECRET
    mine = [e for d, e in entries.items() if d != VAULT]
    assert [e["encryptionPassword"] for e in mine] == [""]


@pytest.mark.e2e
def test_setup_always_on_keeps_loopback_options(set_up: SetUp) -> None:
    with set_up.machine.client() as client:
        options, gui = client.options(), client.gui()
    assert gui["address"] == set_up.machine.gui
    assert options["listenAddresses"] == [set_up.machine.listen]
    for key in ("globalAnnounceEnabled", "localAnnounceEnabled", "relaysEnabled", "natEnabled"):
        assert options[key] is False, key


@pytest.mark.e2e
def test_setup_always_on_says_what_it_did(set_up: SetUp) -> None:
    output = set_up.first.output
    assert f"changed: always-on node {VAULT[:7]} added, shared encrypted" in output
    assert f"Always-on node nas ({VAULT}): added, untrusted, shared encrypted" in output
    assert "accept folder claude-projects as 'Receive Encrypted'" in output


@pytest.mark.e2e
def test_setup_always_on_json_reports_node_without_password(set_up: SetUp) -> None:
    data = _json(set_up.again)
    assert data["schema"] == "roam.setup/1"
    assert data["always_on"] == {
        "device_id": VAULT,
        "name": "nas",
        "action": "unchanged",
        "untrusted": True,
        "encrypted": True,
    }
    assert data["changes"] == []
    assert SECRET not in set_up.again.stdout


@pytest.mark.e2e
def test_setup_always_on_never_shows_the_password(set_up: SetUp) -> None:
    """Every output, every log line, and every file roam or Syncthing wrote except the two
    that must hold it: the password file and Syncthing's own config.xml."""
    assert set_up.log, "nothing was logged, so there was nothing to search"
    for result in (set_up.first, set_up.again):
        for text in (result.output, result.stdout, result.stderr):
            assert SECRET not in text
    assert SECRET not in set_up.log
    allowed = {set_up.password_file, set_up.machine.syncthing_home / "config.xml"}
    files = [p for p in set_up.machine.root.rglob("*") if p.is_file() and p not in allowed]
    assert any(p.name == "syncthing.log" for p in files), "Syncthing's log was not searched"
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), f"the password is in {path}"


@pytest.mark.e2e
def test_setup_always_on_run_twice_changes_nothing(set_up: SetUp) -> None:
    made = set_up.machine
    config_xml = (made.syncthing_home / "config.xml").read_bytes()
    with made.client() as client:
        before = client.config()
    result = made.setup(*set_up.args())
    assert result.exit_code == 0, result.output
    assert "Nothing to change" in result.output
    assert f"Always-on node nas ({VAULT}): unchanged" in result.output
    with made.client() as client:
        assert client.config() == before
    assert (made.syncthing_home / "config.xml").read_bytes() == config_xml


def _verify_encryption(made: Machine) -> tuple[str, list[dict[str, Any]], str]:
    """`roam verify --json` on the machine: the encryption dimension, its findings, the text."""
    argv = ["--claude-dir", str(made.claude_dir), "verify", "--json"]
    result = CliRunner().invoke(app, [*argv, "--syncthing-home", str(made.syncthing_home)])
    assert result.exit_code in (0, 7), result.output  # the fake vault never connects: peers fail
    doc = _json(result)
    findings = [f for f in doc["findings"] if f["dimension"] == "encryption"]
    return doc["dimensions"]["encryption"], findings, result.output


@pytest.mark.e2e
def test_verify_after_setup_always_on_finds_encryption_in_order(set_up: SetUp) -> None:
    status, findings, output = _verify_encryption(set_up.machine)
    assert status == "ok", findings
    assert "1 always-on node(s) get the folder encrypted" in findings[0]["message"]
    assert SECRET not in output


@pytest.mark.e2e
def test_verify_flags_always_on_node_no_longer_marked_untrusted(set_up: SetUp) -> None:
    with set_up.machine.client() as client:
        client.patch_device(VAULT, {"untrusted": False})
    try:
        status, findings, _ = _verify_encryption(set_up.machine)
        assert status == "warn"
        assert [f["subject"] for f in findings] == [VAULT]
    finally:
        assert set_up.machine.setup(*set_up.args()).exit_code == 0


@pytest.mark.e2e
def test_verify_fails_untrusted_node_shared_without_password(set_up: SetUp) -> None:
    with set_up.machine.client() as client:
        entries = [dict(e) for e in client.folder(FOLDER).raw["devices"]]
        for entry in entries:
            entry["encryptionPassword"] = ""
        client.patch_folder(FOLDER, {"devices": entries})
    try:
        status, findings, _ = _verify_encryption(set_up.machine)
        assert status == "fail"
        # 1.19 keeps the device listed without a password; 1.2x unshares it: both must fail
        assert "encryption password" in findings[0]["message"]
        assert findings[0]["subject"] == VAULT
        assert findings[0]["fix"] == f"roam peers add {VAULT} --untrusted --password-file FILE"
        repaired = set_up.machine.setup(*set_up.args())
        assert f"always-on node {VAULT[:7]} updated, shared encrypted" in repaired.output
        assert _verify_encryption(set_up.machine)[0] == "ok"
    finally:
        assert set_up.machine.setup(*set_up.args()).exit_code == 0


# -- a real always-on node ------------------------------------------------------------------


def _start_vault(root: Path, binary: str) -> tuple[SyncthingProcess, str, str]:
    """A plain Syncthing node, hardened for loopback before its first start."""
    gui_port, listen_port = free_ports(2)
    home = root / "syncthing"
    device_id = str(generate_config(binary, home))
    listen = f"tcp://127.0.0.1:{listen_port}"
    harden_config(home, gui_address=f"127.0.0.1:{gui_port}", listen_address=listen)
    process = SyncthingProcess(home, binary=binary, env={"HOME": str(root)}).launch()
    return process, device_id, listen


def _stored(store: Path) -> list[Path]:
    """The files an encrypted folder holds for us (Syncthing's own are under .stfolder)."""
    return [p for p in store.rglob("*") if p.is_file() and ".stfolder" not in p.parts]


def _vault_has_everything(client: SyncthingClient, vault_id: str, store: Path) -> bool:
    """The vault stored files and reports needing none (completion alone reads 100 % until
    the vault's first index arrives)."""
    state = client.connections().get(vault_id)
    if state is None or not state.connected or not _stored(store):
        return False
    return client.completion(FOLDER, vault_id).in_sync


@pytest.mark.e2e
def test_setup_always_on_node_stores_sessions_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if SYNCTHING is None:
        pytest.skip("syncthing is not installed")
    _private_env(tmp_path, monkeypatch)
    made = new_machine(tmp_path / "laptop")
    vault, vault_id, vault_listen = _start_vault(tmp_path / "vault", SYNCTHING)
    try:
        first = made.setup(before=("--json",))
        assert first.exit_code == 0, first.output
        vault.wait_ready()
        store = tmp_path / "vault" / "store"
        store.mkdir(mode=0o700)
        # the vault knows the laptop before the laptop first dials it, so no dial is refused
        ensure_peer(vault.client, vault_id, _json(first)["device_id"], name="laptop")
        serve_encrypted_folder(vault.client, FOLDER, store, [_json(first)["device_id"]])
        password = _password_file(tmp_path / "secrets")
        result = made.setup(
            "--always-on", vault_id, "--password-file", str(password),
            "--always-on-address", vault_listen,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        phrase = "a sentence only the laptop may read"
        session = (
            made.projects_dir / "-home-user-proj" / "0d1e2f3a-0000-4000-8000-000000000001.jsonl"
        )
        session.parent.mkdir(parents=True)
        session.write_text(json.dumps({"type": "user", "message": phrase}) + "\n")
        with made.client() as client:
            client.scan(FOLDER)
            wait_until(
                partial(_vault_has_everything, client, vault_id, store),
                timeout_s=30,
                what="the always-on node holding the session",
            )
        for path in store.rglob("*"):
            for needle in (phrase, session.stem, "home-user-proj", SECRET):
                assert needle not in str(path.relative_to(store))
                if path.is_file():
                    assert needle.encode() not in path.read_bytes(), f"{needle!r} in {path}"
    finally:
        discard(vault)
        discard_pid(made.syncthing_home)
