"""The prompt history (``history.jsonl``, the up arrow) of a session, opt-in.

Claude Code keeps one ``<claude dir>/history.jsonl`` for every session: a JSON line per prompt
typed (``display``, ``pastedContents``, ``timestamp`` in ms, ``project``, ``sessionId``). It is
what a person typed, pastes included, so it travels only when asked, with

    [companions]
    history = true

in roam's ``config.toml``. Then ``carry`` puts the session's own lines in
``<session-id>/roam-companions/history/history.jsonl``, and ``place`` adds to this machine's
file the lines it lacks, the whole in time order (a stable sort on ``timestamp``), by an atomic
rewrite. A line is never removed. ``roam export`` never includes history.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.bounded import iter_file_lines, load_record
from session_roam.engine.core.roamconfig import read_roam_config
from session_roam.engine.travel.files import write_companion
from session_roam.engine.travel.kinds import carried_dir

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["HISTORY_FILE", "carry_history", "history_enabled", "place_history"]

HISTORY_FILE: Final = "history.jsonl"
_CARRIED: Final = "history"


def history_enabled(config_dir: Path | None = None) -> bool:
    """``[companions] history = true`` in roam's config.toml (off by default: it is private)."""
    folder = config_dir if config_dir is not None else xdg.config_dir()
    section = read_roam_config(folder / "config.toml").get("companions", {})
    return isinstance(section, dict) and section.get("history") is True


def _lines(path: Path) -> list[bytes]:
    return [line for line in iter_file_lines(path) if line.strip()]


def _session_of(line: bytes) -> str | None:
    if b'"sessionId"' not in line:
        return None
    record = load_record(line)
    value = record.get("sessionId") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def _stamp(line: bytes) -> float:
    record = load_record(line)
    value = record.get("timestamp") if isinstance(record, dict) else None
    return float(value) if isinstance(value, int | float) else 0.0


def _carried_file(session_file: Path) -> Path:
    return carried_dir(session_file) / _CARRIED / HISTORY_FILE


def carry_history(session_file: Path, config: Path, session_id: str) -> int:
    """Copy the session's lines of this machine's history out; the number carried."""
    mine = [ln for ln in _lines(config / HISTORY_FILE) if _session_of(ln) == session_id]
    carried = _carried_file(session_file)
    known = set(_lines(carried))
    if not mine or all(line in known for line in mine):
        return 0
    merged = sorted({*known, *mine}, key=_stamp)
    write_companion(carried, session_file.parent.parent, b"".join(ln + b"\n" for ln in merged))
    return len(mine)


def place_history(session_file: Path, config: Path) -> int:
    """Add the travelled lines this machine's history lacks, in time order; the number added."""
    travelled = _lines(_carried_file(session_file))
    target = config / HISTORY_FILE
    for _attempt in range(3):  # a claude running elsewhere on this machine may append meanwhile
        try:
            before = os.stat(target, follow_symlinks=False)
        except FileNotFoundError:
            before = None
        local = _lines(target)
        present = set(local)
        missing = [line for line in travelled if line not in present]
        if not missing:
            return 0
        merged = sorted([*local, *missing], key=_stamp)
        data = b"".join(line + b"\n" for line in merged)
        try:
            now = os.stat(target, follow_symlinks=False)
        except FileNotFoundError:
            now = None
        if (before and (before.st_size, before.st_mtime_ns)) == (
            now and (now.st_size, now.st_mtime_ns)
        ):
            write_companion(target, config, data)
            return len(missing)
    return 0
