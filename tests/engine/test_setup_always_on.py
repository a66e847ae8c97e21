"""`roam setup --always-on`: the checks made before Syncthing is touched, and the pairing step
against an in-memory Syncthing (the real one is in tests/cli/test_setup_always_on.py)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import pytest

from session_roam.engine.setup.always_on import (
    DEFAULT_ALWAYS_ON_NAME,
    AlwaysOnNode,
    check_always_on,
    ensure_always_on,
)
from session_roam.engine.setup.machine import SetupRequest, run_setup
from session_roam.engine.syncthing.untrusted import EncryptionPassword
from session_roam.errors import InvalidInput
from tests.support.fake_config import VAULT, FakeConfig, local_over, password_file

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.local import LocalSyncthing

SECRET = "always-on-secret-never-shown-42"  # noqa: S105 - a test secret that must never leak
ADDRESS = "tcp://127.0.0.1:22001"


@pytest.fixture
def fake(tmp_path: Path) -> FakeConfig:
    return FakeConfig(str(tmp_path / "projects"))


@pytest.fixture
def local(fake: FakeConfig, tmp_path: Path) -> LocalSyncthing:
    return local_over(fake, tmp_path)


def _password_file(tmp_path: Path, text: str = SECRET + "\n", mode: int = 0o600) -> Path:
    return password_file(tmp_path, text, mode)


def _add(local: LocalSyncthing, tmp_path: Path, **options: Any) -> tuple[AlwaysOnNode, list[str]]:
    return ensure_always_on(
        local, tmp_path / "projects", VAULT, EncryptionPassword(SECRET), **options
    )


# -- checks made before Syncthing is touched ---------------------------------------------------


def test_check_always_on_without_always_on_needs_no_password() -> None:
    assert check_always_on(None, None) is None


def test_check_always_on_returns_the_files_password(tmp_path: Path) -> None:
    password = check_always_on(VAULT.lower(), _password_file(tmp_path), address=ADDRESS)
    assert password is not None
    assert password.reveal() == SECRET
    assert SECRET not in repr(password)


def test_check_always_on_without_password_file_is_one_sentence_with_hint() -> None:
    with pytest.raises(InvalidInput, match=r"^--always-on needs --password-file, [^.]*\.$") as e:
        check_always_on(VAULT, None)
    assert "roam setup --always-on ID --password-file" in e.value.hint


@pytest.mark.parametrize(
    ("option", "flag"),
    [
        ({"address": ADDRESS}, "--always-on-address"),
        ({"name": "nas"}, "--always-on-name"),
    ],
)
def test_check_always_on_options_without_always_on_are_refused(
    option: dict[str, str], flag: str
) -> None:
    with pytest.raises(InvalidInput, match=rf"^{flag} is only used with --always-on ID\.$"):
        check_always_on(None, None, **option)


def test_check_always_on_password_file_without_always_on_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^--password-file is only used with --always-on") as e:
        check_always_on(None, _password_file(tmp_path))
    assert "--always-on ID --password-file" in e.value.hint


def test_check_always_on_malformed_device_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"is not a Syncthing device ID"):
        check_always_on(VAULT[:-1] + "A", _password_file(tmp_path))


def test_check_always_on_malformed_address_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"'nas:22000' is not a Syncthing address\."):
        check_always_on(VAULT, _password_file(tmp_path), address="nas:22000")


def test_check_always_on_refuses_id_also_given_as_plain_peer(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"given both as --device-id and as --always-on\.$") as e:
        check_always_on(VAULT, _password_file(tmp_path), plain_ids=[VAULT.lower()])
    assert "Drop it from --device-id" in e.value.hint


def test_check_always_on_missing_password_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^The password file .* does not exist\.$"):
        check_always_on(VAULT, tmp_path / "nope")


def test_check_always_on_empty_password_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^The password file .* is empty\.$"):
        check_always_on(VAULT, _password_file(tmp_path, "\n"))


def test_check_always_on_group_readable_password_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"can be read by other users") as caught:
        check_always_on(VAULT, _password_file(tmp_path, mode=0o640))
    assert "chmod 600" in caught.value.hint
    assert SECRET not in str(caught.value)


def test_run_setup_checks_always_on_before_touching_syncthing(tmp_path: Path) -> None:
    home = tmp_path / "syncthing"
    request = SetupRequest(projects_dir=tmp_path / "projects", syncthing_home=home, always_on=VAULT)
    with pytest.raises(InvalidInput, match=r"--always-on needs --password-file"):
        run_setup(request)
    assert not home.exists()


def test_setup_request_repr_names_the_file_not_the_password(tmp_path: Path) -> None:
    path = _password_file(tmp_path)
    request = SetupRequest(projects_dir=tmp_path, always_on=VAULT, password_file=path)
    assert str(path) in repr(request)
    assert SECRET not in repr(request)


# -- pairing, against the in-memory Syncthing --------------------------------------------------


def test_ensure_always_on_shares_folder_encrypted_with_untrusted_node(
    fake: FakeConfig, local: LocalSyncthing, tmp_path: Path
) -> None:
    node, warnings = _add(local, tmp_path, address=ADDRESS)
    assert node == AlwaysOnNode(VAULT, DEFAULT_ALWAYS_ON_NAME, "added")
    assert (node.untrusted, node.encrypted) == (True, True)
    assert fake.devices[VAULT]["untrusted"] is True
    assert fake.devices[VAULT]["addresses"] == [ADDRESS]
    assert fake.vault_entry()["encryptionPassword"] == SECRET
    assert warnings == []


def test_ensure_always_on_uses_the_name_given(local: LocalSyncthing, tmp_path: Path) -> None:
    node, _ = _add(local, tmp_path, name="nas")
    assert node.name == "nas"


def test_ensure_always_on_keeps_a_known_nodes_name(
    fake: FakeConfig, local: LocalSyncthing, tmp_path: Path
) -> None:
    fake.devices[VAULT] = {"deviceID": VAULT, "name": "renamed", "addresses": [ADDRESS]}
    node, _ = _add(local, tmp_path)
    assert fake.devices[VAULT]["name"] == "renamed"
    assert (node.name, node.action) == ("renamed", "updated")


def test_ensure_always_on_twice_is_unchanged(
    fake: FakeConfig, local: LocalSyncthing, tmp_path: Path
) -> None:
    _add(local, tmp_path, name="nas", address=ADDRESS)
    shared = json.dumps(fake.folders), json.dumps(fake.devices)
    node, _ = _add(local, tmp_path, name="nas", address=ADDRESS)
    assert node.action == "unchanged"
    assert (json.dumps(fake.folders), json.dumps(fake.devices)) == shared


def test_ensure_always_on_without_discovery_or_address_warns(
    local: LocalSyncthing, tmp_path: Path
) -> None:
    _, warnings = _add(local, tmp_path, no_discovery=True)
    assert len(warnings) == 1
    assert "--always-on-address tcp://HOST:PORT" in warnings[0]


def test_ensure_always_on_known_address_without_discovery_does_not_warn(
    local: LocalSyncthing, tmp_path: Path
) -> None:
    _add(local, tmp_path, address=ADDRESS)
    _, warnings = _add(local, tmp_path, no_discovery=True)
    assert warnings == []


def test_always_on_node_report_never_holds_the_password(
    local: LocalSyncthing, tmp_path: Path
) -> None:
    node, warnings = _add(local, tmp_path, name="nas", address=ADDRESS)
    for text in (repr(node), json.dumps(asdict(node)), *warnings):
        assert SECRET not in text
