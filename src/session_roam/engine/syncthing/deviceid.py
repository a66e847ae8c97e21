"""Syncthing device IDs, checked the way Syncthing checks them before anything reaches its API.

A device ID is the SHA-256 of the device certificate in base32 (52 characters), cut into four
13-character runs that each get one Luhn mod-32 check character (56 characters), shown as
eight dash-separated groups of seven. Syncthing accepts dashes/spaces anywhere, any case, the
common typos ``0 1 8`` for ``O I B``, and the legacy 52-character form without check
characters (``lib/protocol/deviceid.go``). A typo in a pasted ID must fail here, with one
sentence, rather than as an opaque 500 from ``/rest/config/devices``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final

from session_roam.errors import InvalidInput

__all__ = ["DeviceId", "luhn_base32", "parse_device_id"]

_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TYPOS: Final = str.maketrans({"0": "O", "1": "I", "8": "B"})
_RUN: Final = 13
_CHECKED_LENGTH: Final = 56
_LEGACY_LENGTH: Final = 52


def luhn_base32(run: str) -> str:
    """Syncthing's Luhn mod-32 check character for one base32 run.

    This mirrors ``luhnBase32`` in Syncthing: the doubling factor starts at 1 on the LEFT, not on
    the right as textbook Luhn does. Matching that quirk is what makes real IDs validate.
    """
    factor = 1
    total = 0
    for char in run:
        addend = factor * _ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return _ALPHABET[(32 - total % 32) % 32]


@dataclass(frozen=True, slots=True)
class DeviceId:
    """A validated device ID in Syncthing's canonical dashed upper-case form."""

    canonical: str

    @property
    def short(self) -> str:
        """The first group: what Syncthing puts in conflict-copy names and log prefixes."""
        return self.canonical[:7]

    def __str__(self) -> str:
        return self.canonical


def _invalid(given: str, why: str) -> InvalidInput:
    shown = given if len(given) <= 80 else given[:77] + "..."
    return InvalidInput(
        f"{shown!r} is not a Syncthing device ID ({why}).",
        hint="Copy the ID from `roam setup` or `roam status` on the other machine "
        "(eight groups of seven letters and digits 2-7).",
    )


def parse_device_id(text: str) -> DeviceId:
    """Validate ``text`` as Syncthing would and return the canonical form, or raise InvalidInput."""
    compact = text.strip().strip("=").upper().translate(_TYPOS).replace("-", "").replace(" ", "")
    if not compact:
        raise _invalid(text, "it is empty")
    if bad := sorted({c for c in compact if c not in _ALPHABET}):
        raise _invalid(text, f"it contains {''.join(bad)!r}, which base32 does not use")
    if len(compact) == _CHECKED_LENGTH:
        runs = [compact[i : i + _RUN + 1] for i in range(0, _CHECKED_LENGTH, _RUN + 1)]
        for number, run in enumerate(runs, start=1):
            if luhn_base32(run[:_RUN]) != run[_RUN]:
                raise _invalid(text, f"the check character of part {number} is wrong; a typo?")
        data = "".join(run[:_RUN] for run in runs)
    elif len(compact) == _LEGACY_LENGTH:
        data = compact
    else:
        raise _invalid(text, f"it has {len(compact)} characters instead of 56")
    try:
        base64.b32decode(data + "====")
    except binascii.Error as exc:  # pragma: no cover - the alphabet check above rules this out
        raise _invalid(text, "it is not valid base32") from exc
    checked = "".join(
        data[i : i + _RUN] + luhn_base32(data[i : i + _RUN]) for i in range(0, len(data), _RUN)
    )
    return DeviceId("-".join(checked[i : i + 7] for i in range(0, _CHECKED_LENGTH, 7)))
