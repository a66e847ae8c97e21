"""Checks of what a person names on the command line, made before anything is read or written.

A file given to merge (``conflicts merge --with FILE``) must be a version of that session:
merging /etc/passwd would "succeed" with every line set aside, which looks fine and is wrong.
Only the start of the file is read, a line at a time, so a huge or hostile file costs little.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["check_session_version"]

#: How many lines are read looking for one record of the session before giving up.
_LINES_LOOKED_AT: Final = 200
_LONGEST_LINE: Final = 8 * 1024 * 1024


def check_session_version(path: Path, session_id: str) -> Path:
    """``path`` if it is a regular file holding at least one record of ``session_id``."""
    hint = "Give a copy of that session's .jsonl file (a backup, .stversions, another machine)."
    if not path.exists():
        raise InvalidInput(f"--with {path} does not exist.", hint=hint)
    if not path.is_file():
        raise InvalidInput(f"--with {path} is not a file.", hint=hint)
    try:
        with path.open("rb") as handle:
            for _ in range(_LINES_LOOKED_AT):
                line = handle.readline(_LONGEST_LINE)
                if not line:
                    break
                if _is_record_of(line, session_id):
                    return path
    except OSError as exc:
        raise InvalidInput(f"Cannot read --with {path}: {exc.strerror}.", hint=hint) from None
    raise InvalidInput(
        f"--with {path} holds no record of session {session_id}, so it is not a version of it.",
        hint=hint,
    )


def _is_record_of(line: bytes, session_id: str) -> bool:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(record, dict) and record.get("sessionId") == session_id
