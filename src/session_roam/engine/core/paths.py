"""Where Claude Code keeps sessions, and the checks every name passes before it becomes a path.

The project-folder rule is copied from Claude Code 2.1.331 (see research/claude-code-format.md
§1.2): every UTF-16 code unit outside ``[A-Za-z0-9]`` becomes ``-``; names longer than 200
characters are cut to 200 and get ``-`` plus base36 of ``abs(String.hashCode(path))``. The rule is
lossy and not injective, so nothing here ever tries to decode a slug back into a cwd.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "FIXED_PROJECT_ENV",
    "SLUG_MAX",
    "claude_config_dir",
    "ensure_inside",
    "fixed_project_name",
    "project_dir_for",
    "project_slug",
    "projects_dir",
    "validate_session_id",
]

#: Claude Code cuts an encoded cwd at this many characters and appends a hash.
SLUG_MAX: Final = 200

_BASE36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"
_UUID_RE: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def claude_config_dir(override: Path | None = None) -> Path:
    """Claude Code's config folder: the explicit override, else $CLAUDE_CONFIG_DIR, else ~/.claude.

    Resolved the same way Claude Code resolves it, so roam reads the folder Claude writes.
    """
    if override is not None:
        return _config_folder(override.expanduser(), "--claude-dir")
    from_env = os.environ.get("CLAUDE_CONFIG_DIR")
    if from_env:
        return _config_folder(Path(from_env).expanduser(), "CLAUDE_CONFIG_DIR")
    return Path.home() / ".claude"


def _config_folder(path: Path, source: str) -> Path:
    """``path`` unless it names something that is not a folder: then reading it would only
    say "no sessions here", which looks fine and is wrong."""
    if path.exists() and not path.is_dir():
        raise InvalidInput(
            f"{source} {path} is not a folder; it must be Claude Code's config folder.",
            hint=f"Point {source} at the folder that holds projects/ (usually ~/.claude).",
        )
    return path


def projects_dir(config_dir: Path) -> Path:
    """The folder Syncthing shares: one sub-folder per project slug."""
    return config_dir / "projects"


def _utf16_units(text: str) -> list[int]:
    # JavaScript strings are UTF-16: an emoji is two code units, and both the replacement and
    # the hash work per unit, so Python's code points would give the wrong answer.
    raw = text.encode("utf-16-le", "surrogatepass")
    return [raw[i] | (raw[i + 1] << 8) for i in range(0, len(raw), 2)]


def _java_hash(units: list[int]) -> int:
    value = 0
    for unit in units:
        value = (value * 31 + unit) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if number == 0:
            return digits


def _is_alnum_unit(unit: int) -> bool:
    return 0x30 <= unit <= 0x39 or 0x41 <= unit <= 0x5A or 0x61 <= unit <= 0x7A


def project_slug(path: str) -> str:
    """The folder name Claude Code gives the project of an absolute ``path`` (no realpath here).

    >>> project_slug("/Users/alice/code/my-app")
    '-Users-alice-code-my-app'
    """
    units = _utf16_units(path)
    encoded = "".join(chr(u) if _is_alnum_unit(u) else "-" for u in units)
    if len(encoded) <= SLUG_MAX:
        return encoded
    return f"{encoded[:SLUG_MAX]}-{_base36(abs(_java_hash(units)))}"


#: Claude Code 2.1.234+: ``CLAUDE_CODE_PROJECT_DIR_NAME`` names one project folder for every cwd.
FIXED_PROJECT_ENV: Final = "CLAUDE_CODE_PROJECT_DIR_NAME"
_FIXED_NAME_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DEVICE_NAME_RE: Final = re.compile(r"con|prn|aux|nul|com[0-9]|lpt[0-9]", re.IGNORECASE)


def fixed_project_name(environ: Mapping[str, str] | None = None) -> str | None:
    """The fixed project folder name Claude Code would use here, or None (the cwd's slug).

    The client (2.1.331, read from its bundle) honours ``CLAUDE_CODE_PROJECT_DIR_NAME`` only
    while ``CLAUDE_CONFIG_DIR`` is set, and only a name of 1-64 ``A-Z a-z 0-9 _ -`` that is not
    a Windows device name; otherwise it ignores it and uses the slug of the cwd.
    """
    env = os.environ if environ is None else environ
    name = env.get(FIXED_PROJECT_ENV)
    if not env.get("CLAUDE_CONFIG_DIR") or not name:
        return None
    if not _FIXED_NAME_RE.fullmatch(name) or _DEVICE_NAME_RE.fullmatch(name):
        return None
    return name


def project_dir_for(cwd: Path | str, config_dir: Path) -> Path:
    """The project folder Claude Code uses for ``cwd``.

    Claude Code encodes the physical directory, so a symlinked cwd is resolved first; otherwise
    roam would look in a folder Claude never writes. A fixed project folder name
    (``fixed_project_name``) replaces the slug, as it does in the client.
    """
    name = fixed_project_name() or project_slug(os.path.realpath(cwd))
    return projects_dir(config_dir) / name


def validate_session_id(value: str) -> str:
    """Return ``value`` in canonical lower case if it is a UUID, else raise InvalidInput.

    Session ids become file names, so anything else (``..``, slashes, globs) is refused before
    it can touch a path.
    """
    if not _UUID_RE.fullmatch(value):
        raise InvalidInput(
            f"{value!r} is not a session id; a session id is a UUID like "
            "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70.",
            hint="Run `roam conflicts list --all` to see the session ids there are.",
        )
    return value.lower()  # str(uuid.UUID(value)) of this form, without importing uuid


def ensure_inside(path: Path, root: Path) -> Path:
    """Return ``path`` resolved if it lies inside ``root``; anything else is InvalidInput.

    Used for every path that comes from a user or from a backup manifest before roam writes or
    deletes there, so a crafted ``../`` can never reach outside the synced projects folder.
    """
    resolved = Path(os.path.realpath(path))
    base = Path(os.path.realpath(root))
    if resolved == base or base not in resolved.parents:
        raise InvalidInput(
            f"{path} is not inside Claude Code's projects folder {base}.",
            hint="Give a session id, or a file under that folder (see --claude-dir).",
        )
    return resolved
