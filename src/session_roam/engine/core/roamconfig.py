"""Reading roam's own ``config.toml``: one reader, one error for a file that is broken.

Several settings live there (``syncthing_home``, ``lease_rule``, ``[backups]``). A broken file
used to be ignored by one reader and refused by another, so the protections it configures
could silently lapse. Every reader now goes through ``read_roam_config``: a missing file means
the defaults, anything unreadable is ``InvalidInput`` naming the file and the line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["read_roam_config"]


def read_roam_config(path: Path) -> dict[str, Any]:
    """The settings in ``path`` (empty when there is no file); a broken file is refused."""
    hint = f"Fix that line of {path}, or move the file away to use the defaults."
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        message = f"roam cannot read its settings in {path}: {exc.strerror}."
        raise InvalidInput(message, hint=hint) from None
    import tomllib  # only when there is a file: roam cr without one never imports it

    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"roam cannot read its settings in {path}: not UTF-8 (line {line}).", hint=hint
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(
            f"roam cannot read its settings in {path}: not valid TOML, {exc}.", hint=hint
        ) from None
