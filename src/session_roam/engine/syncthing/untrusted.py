"""An always-on node that stores and forwards sessions it cannot read (Syncthing untrusted device).

Syncthing (1.12+) encrypts a folder for one device when the trusted node lists that device in
the folder with an ``encryptionPassword``; the always-on node holds the folder as
``receiveencrypted`` and lists the trusted nodes without one. Every trusted node must use the
same password for the same folder, or the always-on node holds two copies it cannot reconcile.

The password is read from a file only (never argv, where ``ps`` shows it), travels inside an
``EncryptionPassword`` whose ``repr`` hides it, and is scrubbed from every error raised here:
Syncthing may echo a rejected config body back, and that text would end up in our messages.
Verified with Syncthing 1.19.2: a folder's type cannot be changed to or from
``receiveencrypted`` after it exists ("folder type must not be changed"), so the always-on node
must create the folder with that type from the start.
"""

from __future__ import annotations

import contextlib
import stat
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.syncthing.folder import folder_body
from session_roam.engine.syncthing.http import status_of
from session_roam.engine.syncthing.peers import PeerChange, add_peer
from session_roam.errors import InvalidInput, RoamError, SetupError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient
    from session_roam.engine.syncthing.local import LocalSyncthing

__all__ = [
    "ENCRYPTED_FOLDER_TYPE",
    "EncryptionPassword",
    "add_untrusted_peer",
    "encrypted_folder_body",
    "read_password_file",
    "serve_encrypted_folder",
    "share_encrypted",
]

ENCRYPTED_FOLDER_TYPE: Final = "receiveencrypted"
_HIDDEN: Final = "***"


class EncryptionPassword:
    """The folder password; ``repr``/``str`` never show it, only ``reveal()`` does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return f"EncryptionPassword({_HIDDEN})"

    __str__ = __repr__

    def reveal(self) -> str:
        return self._value


def read_password_file(path: Path) -> EncryptionPassword:
    """The password in ``path`` (its first line); refuses files others could read."""
    hint = f"Put the password alone in {path} and run `chmod 600 {path}`."
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise InvalidInput(f"The password file {path} does not exist.", hint=hint) from exc
    except OSError as exc:
        raise InvalidInput(f"The password file {path} cannot be read.", hint=hint) from exc
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"The password file {path} is not a regular file.", hint=hint)
    if info.st_mode & 0o077:
        raise InvalidInput(
            f"The password file {path} can be read by other users "
            f"(mode {stat.S_IMODE(info.st_mode):04o}).",
            hint=f"Run `chmod 600 {path}` and try again.",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        # no ``from exc``: a decode error carries the file's bytes, i.e. the password
        raise InvalidInput(f"The password file {path} cannot be read as text.", hint=hint) from None
    lines = text.splitlines()
    value = lines[0] if lines else ""
    if not value.strip():
        raise InvalidInput(f"The password file {path} is empty.", hint=hint)
    return EncryptionPassword(value)


@contextlib.contextmanager
def _guarded(
    password: EncryptionPassword, base_url: str, sending: str | None = None
) -> Iterator[None]:
    """Re-raise roam errors from requests that carry the password, without it.

    The chained cause is always dropped (an httpx response can hold the config body). When
    the request SENT the password, Syncthing's reply is left out of the message entirely: the
    client quotes the first 200 characters of an error body, which may end inside the password,
    so scrubbing the whole secret is not enough.
    """
    secret = password.reveal()
    try:
        yield
    except RoamError as exc:
        if sending is not None:
            status = _status_of(exc)
            message = f"Syncthing at {base_url} refused to {sending}{status}."
        else:
            message = str(exc).replace(secret, _HIDDEN)
        raise type(exc)(message, hint=exc.hint.replace(secret, _HIDDEN)) from None


def _status_of(exc: BaseException) -> str:
    status = status_of(exc.__cause__)
    return "" if status is None else f" ({status})"


def share_encrypted(
    client: SyncthingClient, folder_id: str, device_id: str, password: EncryptionPassword
) -> bool:
    """Share ``folder_id`` with ``device_id`` encrypted; True when the config changed.

    The device is marked ``untrusted`` first, so Syncthing itself refuses ever to send it the
    folder in plain text. Re-reads the folder to check, as Syncthing drops unknown devices.
    """
    secret = password.reveal()
    url = client.base_url
    client.patch_device(device_id, {"untrusted": True})
    with _guarded(password, url):
        folder = client.folder(folder_id)
    entries: list[dict[str, Any]] = [dict(e) for e in folder.raw.get("devices") or []]
    mine = [e for e in entries if e.get("deviceID") == device_id]
    if mine and all(e.get("encryptionPassword") == secret for e in mine):
        return False
    if mine:
        for entry in mine:
            entry["encryptionPassword"] = secret
    else:
        entries.append({"deviceID": device_id, "encryptionPassword": secret})
    sending = f"share folder {folder_id!r} encrypted with {device_id[:7]}"
    with _guarded(password, url, sending):
        client.patch_folder(folder_id, {"devices": entries})
    with _guarded(password, url):
        after = client.folder(folder_id).raw.get("devices") or []
    if not any(
        e.get("deviceID") == device_id and e.get("encryptionPassword") == secret for e in after
    ):
        raise SetupError(
            f"Syncthing did not share folder {folder_id!r} encrypted with {device_id[:7]}.",
            hint="Check that Syncthing is 1.12 or newer (`syncthing --version`).",
        )
    return True


def add_untrusted_peer(
    local: LocalSyncthing,
    projects_dir: Path,
    device: str,
    password: EncryptionPassword,
    *,
    name: str | None = None,
    address: str | None = None,
) -> PeerChange:
    """Pair with an always-on node and share roam's folder with it, encrypted."""
    return add_peer(
        local,
        projects_dir,
        device,
        name=name,
        address=address,
        share=lambda client, folder_id, device_id: share_encrypted(
            client, folder_id, device_id, password
        ),
    )


def encrypted_folder_body(
    folder_id: str, path: str, device_ids: Iterable[str], *, label: str | None = None
) -> dict[str, Any]:
    """The always-on node's folder: roam's settings, type ``receiveencrypted``, no passwords."""
    return folder_body(
        folder_id, path, device_ids, label=label, overrides={"type": ENCRYPTED_FOLDER_TYPE}
    )


def serve_encrypted_folder(
    client: SyncthingClient, folder_id: str, path: Path, trusted_ids: Iterable[str]
) -> None:
    """Set up the always-on node's side: hold ``folder_id`` encrypted for ``trusted_ids``.

    Add the trusted devices first (``ensure_peer``): Syncthing silently drops unknown ones.
    """
    my_id = client.my_id()
    devices = [my_id, *(t for t in trusted_ids if t != my_id)]
    existing = {f.id: f for f in client.folders()}.get(folder_id)
    if existing is not None and existing.type != ENCRYPTED_FOLDER_TYPE:
        raise SetupError(
            f"Folder {folder_id!r} already exists on this node as {existing.type}, and "
            "Syncthing cannot turn it into an encrypted one.",
            hint="Remove the folder in Syncthing's web UI, then run this again.",
        )
    client.add_folder(encrypted_folder_body(folder_id, str(path), devices))
    shared = client.folder(folder_id)
    missing = [d for d in devices if d not in shared.device_ids]
    if shared.type != ENCRYPTED_FOLDER_TYPE or missing:
        raise SetupError(
            f"Syncthing did not set up folder {folder_id!r} as an encrypted store.",
            hint="Add the trusted devices first, then run this again.",
        )
