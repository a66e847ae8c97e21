"""Which sessions an agent wrote, so that ``roam cr`` resumes the person's, not the agent's.

An agent's session is one named ``agent:<agent>/<topic>`` (CONVENTIONS.md §4), or, as the bash
version recognised them, one whose first line carries an agent marker: ``FEDERATION_AGENT_ID``,
``federation-workspace`` or ``notes-federation`` by default, set with ``agent_markers = [...]``
in roam's ``config.toml`` (an empty list turns the markers off).
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.bounded import iter_file_lines
from session_roam.engine.core.roamconfig import read_roam_config
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["AGENT_PREFIX", "DEFAULT_AGENT_MARKERS", "agent_mark", "agent_markers"]

AGENT_PREFIX: Final = "agent:"
DEFAULT_AGENT_MARKERS: Final = ("FEDERATION_AGENT_ID", "federation-workspace", "notes-federation")


def agent_markers(config_dir: Path | None = None) -> tuple[str, ...]:
    """``agent_markers`` from roam's config.toml, or the defaults; a wrong type is refused."""
    path = (config_dir if config_dir is not None else xdg.config_dir_path()) / "config.toml"
    raw = read_roam_config(path).get("agent_markers", DEFAULT_AGENT_MARKERS)
    if not isinstance(raw, list | tuple) or not all(isinstance(m, str) and m for m in raw):
        raise InvalidInput(
            f"agent_markers in {path} must be a list of non-empty strings.",
            hint='For example agent_markers = ["FEDERATION_AGENT_ID"], or [] for none.',
        )
    return tuple(raw)


def agent_mark(path: Path, title: str | None, markers: tuple[str, ...]) -> str | None:
    """Why ``path`` is an agent's session ("it is named 'agent:ci/x'", "its first line carries
    FEDERATION_AGENT_ID"), or None when it is a person's."""
    if title is not None and title.startswith(AGENT_PREFIX):
        return f"it is named {title!r}"
    if not markers:
        return None
    try:
        first = next(islice(iter_file_lines(path), 1), b"")
    except OSError:
        return None
    text = first.decode("utf-8", "replace")
    found = next((marker for marker in markers if marker in text), None)
    return f"its first line carries {found}" if found else None
