"""The always-on part of ``roam setup``: an untrusted node that holds the folder encrypted.

Everything that can fail without Syncthing (flags that go together, the device ID, the address,
the password file) is checked first, so a typo never leaves a half-done setup. The pairing and
the encrypted share are ``engine.untrusted.add_untrusted_peer``'s job; this module only decides
the name, reports the node, and never holds the password outside an ``EncryptionPassword``
(whose ``repr`` hides it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.syncthing.deviceid import parse_device_id
from session_roam.engine.syncthing.peers import validate_address
from session_roam.engine.syncthing.untrusted import add_untrusted_peer, read_password_file
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from session_roam.engine.syncthing.local import LocalSyncthing
    from session_roam.engine.syncthing.untrusted import EncryptionPassword

__all__ = ["DEFAULT_ALWAYS_ON_NAME", "AlwaysOnNode", "check_always_on", "ensure_always_on"]

#: The name a new always-on node gets when --always-on-name is not given.
DEFAULT_ALWAYS_ON_NAME: Final = "always-on"
_HINT: Final = (
    "Example: roam setup --always-on ID --password-file ~/.config/session-roam/vault-password "
    "(a file with mode 600 holding the folder's password)."
)


@dataclass(frozen=True, slots=True)
class AlwaysOnNode:
    """The always-on node as reported: always untrusted and encrypted, never its password."""

    device_id: str
    name: str
    action: str
    untrusted: bool = True
    encrypted: bool = True


def check_always_on(
    device: str | None,
    password_file: Path | None,
    *,
    address: str | None = None,
    name: str | None = None,
    plain_ids: Sequence[str] = (),
) -> EncryptionPassword | None:
    """The password for ``device``, or None without --always-on; raises ``InvalidInput``.

    An ID also given as a plain peer is refused: the plain share would send it the sessions
    in the clear before the encrypted one replaced it.
    """
    if device is None:
        for given, flag in (
            (password_file, "--password-file"),
            (address, "--always-on-address"),
            (name, "--always-on-name"),
        ):
            if given is not None:
                raise InvalidInput(f"{flag} is only used with --always-on ID.", hint=_HINT)
        return None
    if password_file is None:
        raise InvalidInput(
            "--always-on needs --password-file, the file that holds the folder's password.",
            hint=_HINT,
        )
    device_id = parse_device_id(device).canonical
    if device_id in {parse_device_id(d).canonical for d in plain_ids}:
        raise InvalidInput(
            f"{device_id[:7]} is given both as --device-id and as --always-on.",
            hint="Drop it from --device-id: an always-on node gets the folder encrypted only.",
        )
    if address is not None:
        validate_address(address)
    return read_password_file(password_file)


def ensure_always_on(
    local: LocalSyncthing,
    projects_dir: Path,
    device: str,
    password: EncryptionPassword,
    *,
    name: str | None = None,
    address: str | None = None,
    no_discovery: bool = False,
) -> tuple[AlwaysOnNode, list[str]]:
    """Pair with the always-on node and share the folder with it encrypted; idempotent.

    A node Syncthing does not know yet is named ``always-on`` unless ``name`` is given; a known
    one keeps the name it has, so a second run never undoes a rename made in Syncthing's GUI.
    Returns the node and any warnings (one when no discovery and no address leave Syncthing no
    way to reach it).
    """
    device_id = parse_device_id(device).canonical
    known = {d.device_id: d for d in local.client.devices()}.get(device_id)
    change = add_untrusted_peer(
        local,
        projects_dir,
        device_id,
        password,
        name=name or (None if known else DEFAULT_ALWAYS_ON_NAME),
        address=address,
    )
    warnings: list[str] = []
    unreachable = known is None or known.addresses in ((), ("dynamic",))
    if no_discovery and address is None and unreachable:
        warnings.append(
            f"Without discovery Syncthing cannot find {change.name} ({device_id[:7]}); give "
            "its address with --always-on-address tcp://HOST:PORT."
        )
    node = AlwaysOnNode(device_id=change.device_id, name=change.name, action=change.action)
    return node, warnings
