"""Sharing roam's folder with an always-on untrusted node, against an in-memory Syncthing."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import httpx
import pytest

from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.untrusted import (
    ENCRYPTED_FOLDER_TYPE,
    EncryptionPassword,
    add_untrusted_peer,
    encrypted_folder_body,
    read_password_file,
    serve_encrypted_folder,
    share_encrypted,
)
from session_roam.errors import InvalidInput, RoamError, SetupError, SyncthingError
from tests.support.fake_config import FOLDER, ME, VAULT, FakeConfig, local_over, password_file

if TYPE_CHECKING:
    from pathlib import Path


SECRET = "hunter2-correct-horse-battery"  # noqa: S105 - a test secret that must never leak


@pytest.fixture
def fake(tmp_path: Path) -> FakeConfig:
    return FakeConfig(str(tmp_path / "projects"))


def _password_file(tmp_path: Path, text: str = SECRET + "\n", mode: int = 0o600) -> Path:
    return password_file(tmp_path, text, mode)


def test_password_file_first_line_is_the_password(tmp_path: Path) -> None:
    password = read_password_file(_password_file(tmp_path, SECRET + "\nignored\n"))
    assert password.reveal() == SECRET


def test_password_repr_and_str_hide_the_secret(tmp_path: Path) -> None:
    password = read_password_file(_password_file(tmp_path))
    assert SECRET not in repr(password)
    assert SECRET not in str(password)
    assert SECRET not in f"{password}"


def test_password_file_missing_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^The password file .* does not exist\.$"):
        read_password_file(tmp_path / "nope")


def test_password_file_empty_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^The password file .* is empty\.$"):
        read_password_file(_password_file(tmp_path, "\n"))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_password_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    with pytest.raises(InvalidInput, match=r"can be read by other users") as caught:
        read_password_file(_password_file(tmp_path, mode=mode))
    assert "chmod 600" in caught.value.hint
    assert SECRET not in str(caught.value)


def test_password_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    folder.mkdir(mode=0o700)
    with pytest.raises(InvalidInput, match=r"is not a regular file\.$"):
        read_password_file(folder)


def test_password_file_not_text_does_not_chain_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfe" + SECRET.encode())
    path.chmod(0o600)
    with pytest.raises(InvalidInput, match=r"cannot be read as text\.$") as caught:
        read_password_file(path)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_share_encrypted_sets_password_and_marks_device_untrusted(fake: FakeConfig) -> None:
    fake.devices[VAULT] = {"deviceID": VAULT, "name": "vault"}
    changed = share_encrypted(fake.client(), FOLDER, VAULT, EncryptionPassword(SECRET))
    assert changed
    assert fake.vault_entry()["encryptionPassword"] == SECRET
    assert fake.devices[VAULT]["untrusted"] is True


def test_share_encrypted_twice_is_unchanged(fake: FakeConfig) -> None:
    fake.devices[VAULT] = {"deviceID": VAULT, "name": "vault"}
    client = fake.client()
    share_encrypted(client, FOLDER, VAULT, EncryptionPassword(SECRET))
    assert not share_encrypted(client, FOLDER, VAULT, EncryptionPassword(SECRET))


def test_share_encrypted_adds_password_to_plain_share(fake: FakeConfig) -> None:
    fake.devices[VAULT] = {"deviceID": VAULT, "name": "vault"}
    fake.folders[FOLDER]["devices"].append({"deviceID": VAULT, "encryptionPassword": ""})
    assert share_encrypted(fake.client(), FOLDER, VAULT, EncryptionPassword(SECRET))
    assert fake.vault_entry()["encryptionPassword"] == SECRET
    assert len(fake.folders[FOLDER]["devices"]) == 2


def test_share_encrypted_error_never_shows_password(
    fake: FakeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    fake.devices[VAULT] = {"deviceID": VAULT, "name": "vault"}
    client = fake.client()
    fake.echo_errors = True
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SyncthingError) as caught:
        share_encrypted(client, FOLDER, VAULT, EncryptionPassword(SECRET))
    error = caught.value
    assert str(error).endswith(
        f"refused to share folder {FOLDER!r} encrypted with {VAULT[:7]} (500)."
    )
    for text in (str(error), repr(error), error.hint, caplog.text):
        assert SECRET not in text
    assert error.__cause__ is None


def test_share_encrypted_dropped_by_syncthing_is_setup_error(fake: FakeConfig) -> None:
    fake.devices[VAULT] = {"deviceID": VAULT, "name": "vault"}
    original = fake.handle

    def forgetful(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH" and request.url.path.endswith(FOLDER):
            return httpx.Response(200, json={})  # accepted, but nothing stored
        return original(request)

    client = SyncthingClient("http://127.0.0.1:8384", "k", transport=httpx.MockTransport(forgetful))
    with pytest.raises(SetupError, match=r"did not share folder .* encrypted") as caught:
        share_encrypted(client, FOLDER, VAULT, EncryptionPassword(SECRET))
    assert SECRET not in str(caught.value)


def test_add_untrusted_peer_pairs_and_shares_encrypted(fake: FakeConfig, tmp_path: Path) -> None:
    password = EncryptionPassword(SECRET)
    change = add_untrusted_peer(
        local_over(fake, tmp_path),
        tmp_path / "projects",
        VAULT,
        password,
        name="nas",
        address="tcp://127.0.0.1:22001",
    )
    assert (change.device_id, change.name, change.action) == (VAULT, "nas", "added")
    assert fake.devices[VAULT]["addresses"] == ["tcp://127.0.0.1:22001"]
    assert fake.vault_entry()["encryptionPassword"] == SECRET
    assert SECRET not in repr(change)


def test_add_untrusted_peer_again_is_unchanged(fake: FakeConfig, tmp_path: Path) -> None:
    local = local_over(fake, tmp_path)
    add_untrusted_peer(local, tmp_path / "projects", VAULT, EncryptionPassword(SECRET))
    again = add_untrusted_peer(local, tmp_path / "projects", VAULT, EncryptionPassword(SECRET))
    assert again.action == "unchanged"


def test_add_untrusted_peer_without_folder_says_run_setup(fake: FakeConfig, tmp_path: Path) -> None:
    fake.folders.clear()
    with pytest.raises(SetupError, match=r"does not share .* yet\.$") as caught:
        add_untrusted_peer(
            local_over(fake, tmp_path), tmp_path / "projects", VAULT, EncryptionPassword(SECRET)
        )
    assert "roam setup" in caught.value.hint


def test_encrypted_folder_body_is_receiveencrypted_without_passwords() -> None:
    body = encrypted_folder_body(FOLDER, "/srv/vault", [VAULT, ME])
    assert body["type"] == ENCRYPTED_FOLDER_TYPE
    assert body["devices"] == [{"deviceID": VAULT}, {"deviceID": ME}]
    assert "encryptionPassword" not in json.dumps(body)


def test_serve_encrypted_folder_creates_receiveencrypted_share(
    fake: FakeConfig, tmp_path: Path
) -> None:
    fake.folders.clear()
    fake.devices[VAULT] = {"deviceID": VAULT}
    serve_encrypted_folder(fake.client(), FOLDER, tmp_path / "store", [VAULT])
    folder = fake.folders[FOLDER]
    assert folder["type"] == ENCRYPTED_FOLDER_TYPE
    assert [d["deviceID"] for d in folder["devices"]] == [ME, VAULT]


def test_serve_encrypted_folder_refuses_existing_plain_folder(
    fake: FakeConfig, tmp_path: Path
) -> None:
    with pytest.raises(SetupError, match=r"already exists on this node as sendreceive"):
        serve_encrypted_folder(fake.client(), FOLDER, tmp_path / "store", [VAULT])


def test_untrusted_errors_are_roam_errors() -> None:
    assert issubclass(InvalidInput, RoamError)
    assert issubclass(SetupError, RoamError)
