"""Read roam's own state that arrives from peers (``.roam/``) as data, checked before use.

Node files, tombstones and lease claims are written by roam on another machine, but what
arrives may come from a buggy or hostile peer, a damaged disk or a person's copy. Everything
here is read the same way: without following a link, at most ``MAX_STATE_BYTES`` of it, parsed
only within ``session_roam.bounds``' depth cap, and then held to a schema (types, lengths, ranges,
device and session id formats). A file that fails is a ``PeerDataError`` (a ``ValueError``)
with the reason in plain words: the caller reports it and ignores the file, never a traceback.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from typing import TYPE_CHECKING, Any, Final

from session_roam.bounds import too_deep
from session_roam.engine.core.safefs import LinkRefused, has_link_below, open_nofollow

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = [
    "MAX_STATE_BYTES",
    "MAX_TEXT",
    "PeerDataError",
    "check_device_id",
    "check_session_id",
    "finite_number",
    "load_state",
    "read_state_bytes",
    "text_field",
]

#: A state file under ``.roam/`` larger than this is not read (roam's own are under 4 KB).
MAX_STATE_BYTES: Final = 256 * 1024
#: A string field of a state file longer than this is refused (names, versions, hosts).
MAX_TEXT: Final = 1024
#: The nesting a state file may have (roam's own have 2 levels).
_MAX_DEPTH: Final = 16

_LINK: Final = "it is a symbolic link (roam does not follow links in the folder)"
_DEVICE_RE: Final = re.compile(r"[A-Z2-7]{7}(?:-[A-Z2-7]{7}){7}")
_SESSION_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class PeerDataError(ValueError):
    """A state file from the synced folder that roam will not use (the message says why)."""


def read_state_bytes(path: Path, root: Path, limit: int = MAX_STATE_BYTES) -> bytes:
    """The bytes of the regular file ``path`` under ``root``, read without following links.

    FileNotFoundError passes through (absent is not corrupt); a link, a non-regular file or one
    larger than ``limit`` is a ``PeerDataError``. At most ``limit + 1`` bytes are ever read.
    """
    if has_link_below(root, path):
        raise PeerDataError(_LINK)
    try:
        fd = open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK)
    except LinkRefused:
        raise PeerDataError(_LINK) from None
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise FileNotFoundError(errno.ENOENT, "no such file", str(path)) from None
        raise PeerDataError(f"it cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise PeerDataError("it is not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise PeerDataError(f"it is larger than {limit // 1024} KB")
    return data


def load_state(raw: bytes) -> dict[str, Any]:
    """``raw`` parsed as one JSON object within the caps; ``PeerDataError`` otherwise."""
    if len(raw) > MAX_STATE_BYTES:
        raise PeerDataError(f"it is larger than {MAX_STATE_BYTES // 1024} KB")
    if too_deep(raw, _MAX_DEPTH):
        raise PeerDataError("it is nested deeper than a roam state file can be")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PeerDataError("it is not JSON") from None
    if not isinstance(data, dict):
        raise PeerDataError("it is not a JSON object")
    return data


def text_field(
    data: Mapping[str, Any], key: str, *, required: bool = True, max_len: int = MAX_TEXT
) -> str:
    """The string ``data[key]`` (``""`` when optional and absent); checked for type and length."""
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise PeerDataError(f"field {key!r} is missing or not a string")
    if len(value) > max_len:
        raise PeerDataError(f"field {key!r} is longer than {max_len} characters")
    return value


def finite_number(data: Mapping[str, Any], key: str) -> float:
    """``data[key]`` as a finite float; bools, strings, NaN and infinities are refused."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PeerDataError(f"field {key!r} is missing or not a number")
    number = float(value)
    if not math.isfinite(number):
        raise PeerDataError(f"field {key!r} is not a finite number")
    return number


def check_device_id(value: object, what: str = "device id") -> str:
    """``value`` when it is a Syncthing device id (8 groups of 7 base32 characters)."""
    if not isinstance(value, str) or not _DEVICE_RE.fullmatch(value):
        raise PeerDataError(f"its {what} is not a Syncthing device id")
    return value


def check_session_id(value: object) -> str:
    """``value`` when it is a session id (a lowercase uuid)."""
    if not isinstance(value, str) or not _SESSION_RE.fullmatch(value):
        raise PeerDataError("its session id is not a session id")
    return value
