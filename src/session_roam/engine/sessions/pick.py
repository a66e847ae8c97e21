"""Which session ``roam cr`` resumes.

Without an argument: the one ``claude -c`` would pick, so that ``roam cr`` and ``claude -c`` never
disagree — the newest-mtime ``<uuid>.jsonl`` of the cwd's project folder that holds a
conversation. Conflict copies and temp files are never candidates: Claude never resumes them
either. With an argument: a full session id (in any project folder, as ``claude -r`` does), a
unique id prefix, or a custom title set with ``/rename`` (the last ``custom-title`` row wins, as
in Claude Code). Anything unknown or ambiguous is refused with the candidates listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.bounded import iter_file_lines, load_record
from session_roam.engine.core.peer_schema import PeerDataError, read_state_bytes
from session_roam.engine.core.store import SessionFiles, list_all_sessions, list_sessions
from session_roam.errors import SessionNotFound

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

__all__ = ["PickedSession", "custom_title", "pick_newest", "pick_session"]

_FULL_ID_RE: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_PREFIX_RE: Final = re.compile(r"[0-9a-fA-F-]{4,36}")
_MAX_LISTED: Final = 8
_CONVERSATION_TYPES: Final = frozenset({"user", "assistant"})


@dataclass(frozen=True, slots=True)
class PickedSession:
    """A session file that exists, and how it was chosen (for messages and the journal)."""

    session_id: str
    path: Path
    title: str | None
    chosen_by: str  # "newest", "id", "prefix" or "title"

    @property
    def project_dir(self) -> Path:
        return self.path.parent


def _title_from_rows(lines: Iterable[bytes]) -> str | None:
    title: str | None = None
    for line in lines:
        if b'"custom-title"' not in line:
            continue
        row = load_record(line)  # bounded: None for torn, too long or too deep lines
        if isinstance(row, dict) and row.get("type") == "custom-title":
            value = row.get("customTitle")
            if isinstance(value, str) and value:
                title = value
    return title


def custom_title(session_path: Path) -> str | None:
    """The session's custom title (``/rename``), or None; unreadable files have none."""
    try:
        title = _title_from_rows(iter_file_lines(session_path))
    except OSError:
        return None
    if title is not None:
        return title
    sidecar = session_path.with_suffix("") / "custom-title.json"
    try:
        raw = read_state_bytes(sidecar, session_path.parent)
    except (OSError, PeerDataError):  # missing, unreadable, too large, or a link (safefs)
        return None
    stored = load_record(raw)
    value = stored.get("customTitle") if isinstance(stored, dict) else None
    return value if isinstance(value, str) and value else None


def _has_conversation(path: Path) -> bool:
    """Claude's ``-c`` skips files that only hold bookkeeping rows; so do we."""
    try:
        for line in iter_file_lines(path):
            if b'"type"' not in line:
                continue
            row = load_record(line)
            if isinstance(row, dict) and row.get("type") in _CONVERSATION_TYPES:
                return True
    except OSError:
        return False
    return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("-inf")


def _main_files(sessions: Iterable[SessionFiles]) -> list[tuple[str, Path]]:
    return [(session.session_id, session.main) for session in sessions if session.main_exists]


def _newest(project_dir: Path) -> PickedSession:
    candidates = sorted(
        _main_files(list_sessions(project_dir)), key=lambda item: _mtime(item[1]), reverse=True
    )
    for session_id, path in candidates:
        if _has_conversation(path):
            return PickedSession(session_id, path, custom_title(path), "newest")
    raise SessionNotFound(
        f"No session here yet (nothing in {project_dir}).",
        hint="Start one with `claude` or `roam cn NAME`.",
    )


def pick_newest(folders: Sequence[Path]) -> PickedSession:
    """The newest session of several project folders (the cwd's own and its mapped paths')."""
    picked: list[PickedSession] = []
    for folder in folders:
        try:
            picked.append(_newest(folder))
        except SessionNotFound:
            continue
    if not picked:
        return _newest(folders[0])  # raises, naming the cwd's own folder
    return max(picked, key=lambda p: _mtime(p.path))


def _describe(candidates: Sequence[tuple[str, Path]]) -> str:
    shown = [
        f"{session_id} ({title})" if (title := custom_title(path)) else session_id
        for session_id, path in candidates[:_MAX_LISTED]
    ]
    more = len(candidates) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _matching(query: str, files: Sequence[tuple[str, Path]]) -> tuple[list[tuple[str, Path]], str]:
    lowered = query.lower()
    if _FULL_ID_RE.fullmatch(query):
        return [item for item in files if item[0] == lowered], "id"
    by_title = [item for item in files if custom_title(item[1]) == query]
    if by_title:
        return by_title, "title"
    if _PREFIX_RE.fullmatch(query):
        return [item for item in files if item[0].startswith(lowered)], "prefix"
    return [], "title"


def pick_session(project_dir: Path, projects_root: Path, query: str | None = None) -> PickedSession:
    """The session to resume from ``project_dir`` (the cwd's project folder).

    ``query`` is a full id, a unique id prefix (at least 4 characters) or a custom title. Matches
    in the cwd's project folder come first; only when there are none there is every project
    folder under ``projects_root`` searched (``claude -r`` resumes a session wherever it lies).
    Raises SessionNotFound naming the candidates when nothing or more than one session matches.
    """
    if query is None or not query.strip():
        return _newest(project_dir)
    query = query.strip()
    local = _main_files(list_sessions(project_dir))
    matches, how = _matching(query, local)
    if not matches:
        matches, how = _matching(query, _main_files(list_all_sessions(projects_root)))
    unique = dict(matches)
    if len(unique) == 1:
        session_id, path = next(iter(unique.items()))
        return PickedSession(session_id, path, custom_title(path), how)
    if not unique:
        listed = local or _main_files(list_all_sessions(projects_root))
        known = f" Sessions here: {_describe(listed)}." if listed else ""
        raise SessionNotFound(f"No session matches {query!r}.{known}")
    raise SessionNotFound(
        f"{query!r} matches {len(unique)} sessions: {_describe(sorted(unique.items()))}.",
        hint="Give more characters of the id, or the full id.",
    )
