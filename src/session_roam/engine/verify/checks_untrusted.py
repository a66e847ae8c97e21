"""The encryption check: an always-on (untrusted) node only ever gets the folder encrypted.

Three ways a share with an always-on node goes wrong, all visible only in Syncthing's config:

- the device is marked untrusted but the folder lists it without an encryption password.
  Syncthing 1.19 then refuses to exchange the folder with it at all ("device is untrusted, but
  configured to receive not encrypted data"), so the node silently keeps nothing: a failure.
- the device is marked untrusted and the folder does not list it at all. That is what the case
  above becomes from Syncthing 1.2x on, which drops the device from the folder itself ("shared
  in trusted mode with untrusted device ...; unsharing"): the node receives nothing either, and
  a check that only looked at the devices the folder lists would call it fine. A failure too.
- the folder is shared with it encrypted but the device is not marked untrusted. Nothing leaks
  today, but nothing stops a later plain share (a GUI click, a copied config) from sending it
  the sessions in the clear: a warning.

Both are repaired by ``roam peers add ID --untrusted --password-file FILE``, which sets the
password and the mark together (``engine.untrusted.share_encrypted``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from session_roam.engine.verify.base import ok, unchecked
from session_roam.engine.verify.model import Finding, Status

if TYPE_CHECKING:
    from session_roam.engine.verify.model import PeerFacts, Snapshot

__all__ = ["DIMENSION", "check_encryption"]

DIMENSION: Final = "encryption"


def _fix(peer: PeerFacts) -> str:
    return f"roam peers add {peer.device_id} --untrusted --password-file FILE"


def check_encryption(snap: Snapshot) -> list[Finding]:
    if not snap.service.reachable:
        return unchecked(DIMENSION, snap)
    folder = snap.folder.id if snap.folder is not None else "the sessions folder"
    found: list[Finding] = []
    for peer in snap.peers:
        who = f"{peer.name or peer.device_id[:7]} ({peer.device_id[:7]})"
        if not peer.shares_folder:
            if peer.untrusted:
                found.append(
                    Finding(
                        DIMENSION,
                        Status.FAIL,
                        f"Untrusted device {who} is not given folder {folder} (Syncthing unshares "
                        "it when its encryption password is missing), so it receives nothing.",
                        fix=_fix(peer),
                        subject=peer.device_id,
                    )
                )
            continue
        if peer.untrusted and not peer.encrypted:
            found.append(
                Finding(
                    DIMENSION,
                    Status.FAIL,
                    f"Untrusted device {who} is given folder {folder} without an encryption "
                    "password, so Syncthing sends it nothing.",
                    fix=_fix(peer),
                    subject=peer.device_id,
                )
            )
        elif peer.encrypted and not peer.untrusted:
            found.append(
                Finding(
                    DIMENSION,
                    Status.WARN,
                    f"{who} gets folder {folder} encrypted but is not marked untrusted, so a "
                    "later plain share would send it your sessions readable.",
                    fix=_fix(peer),
                    subject=peer.device_id,
                )
            )
    if found:
        return found
    vaults = sum(1 for p in snap.peers if p.shares_folder and p.encrypted)
    if vaults:
        return ok(DIMENSION, f"{vaults} always-on node(s) get the folder encrypted, none in clear.")
    return ok(DIMENSION, "No untrusted device shares the folder.")
