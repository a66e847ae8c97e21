"""Which session ``roam cr`` resumes.

Without an argument: the one ``claude -c`` would pick, so that ``roam cr`` and ``claude -c`` never
disagree — the newest-mtime ``<uuid>.jsonl`` of the cwd's project folder that holds a
conversation. Conflict copies and temp files are never candidates: Claude never resumes them
either. With an argument: a full session id (in any project folder, as ``claude -r`` does), a
unique id prefix, or a custom title set with ``/rename`` (the last ``custom-title`` row wins, as
in Claude Code). Anything unknown or ambiguous is refused with the candidates listed.
"""

from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.bounded import iter_file_lines, load_record
from session_roam.engine.core.peer_schema import PeerDataError, read_state_bytes
from session_roam.engine.core.safefs import is_link
from session_roam.engine.core.store import (
    SWAP_RETRY_S,
    SWAP_WAIT_S,
    SessionFiles,
    being_replaced,
    list_all_sessions,
    list_sessions,
    syncthing_target,
)
from session_roam.engine.sessions.agentmark import agent_mark, agent_markers
from session_roam.errors import SessionNotFound

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

__all__ = [
    "NoSessionHere",
    "PickedSession",
    "custom_title",
    "new_session",
    "pick_newest",
    "pick_session",
]

_FULL_ID_RE: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_PREFIX_RE: Final = re.compile(r"[0-9a-fA-F-]{4,36}")
_MAIN_NAME_RE: Final = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl"
)
_MAX_LISTED: Final = 8
_CONVERSATION_TYPES: Final = frozenset({"user", "assistant"})


class NoSessionHere(SessionNotFound):
    """This directory has no session on this machine (``roam cr`` then asks the cluster, and
    starts a new conversation when no machine has one, as ``claude -c`` does)."""


@dataclass(frozen=True, slots=True)
class PickedSession:
    """A session file that exists, and how it was chosen (for messages and the journal)."""

    session_id: str
    path: Path
    title: str | None
    chosen_by: str  # "newest", "id", "prefix", "title" or "new"
    #: Why it is an agent's session (``engine.agentmark``), when the newest pick knows it.
    agent: str | None = None
    #: The newer agent sessions the newest pick passed over for this person's one, in a line.
    agents_next: tuple[str, ...] = ()

    @property
    def project_dir(self) -> Path:
        return self.path.parent


def new_session(project_dir: Path) -> PickedSession:
    """A session that does not exist yet, under an id roam picks (``claude --session-id``), so
    that its lease can be taken before claude writes a byte."""
    import uuid  # only for a new session: uuid imports platform, which roam cr ID never needs

    session_id = str(uuid.uuid4())
    return PickedSession(session_id, project_dir / f"{session_id}.jsonl", None, "new")


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


class _MidSwap(Exception):
    """A session file of the folder was missing while Syncthing replaced it: look again."""


def _appeared(project_dir: Path, listed: set[str]) -> bool:
    """Whether a session file is in the folder now that the listing did not have, or is
    missing while Syncthing writes its temp file (it removes the old file before the rename).
    Only a session's main file counts (not a conflict copy on its way), never through a link."""
    if is_link(project_dir):
        return False
    try:
        names = os.listdir(project_dir)
    except OSError:
        return False
    for name in names:
        if (main := syncthing_target(name)) is not None:
            if not _MAIN_NAME_RE.fullmatch(main):
                continue
            if main not in listed and being_replaced(project_dir / main):
                return True
        elif name not in listed and _MAIN_NAME_RE.fullmatch(name):
            try:  # a link or folder under that name is never a session (list_sessions)
                if stat.S_ISREG(os.lstat(project_dir / name).st_mode):
                    return True
            except OSError:
                continue
    return False


def _by_mtime(project_dir: Path, *, settled: bool) -> list[tuple[str, Path]]:
    """The folder's session files, newest first; ``_MidSwap`` unless ``settled`` when one was
    listed and then missing, or missing from the listing while Syncthing was replacing it."""
    stamped = [(_mtime(path), sid, path) for sid, path in _main_files(list_sessions(project_dir))]
    if not settled and (
        any(mtime == float("-inf") for mtime, _, _ in stamped)
        or _appeared(project_dir, {path.name for _, _, path in stamped})
    ):
        raise _MidSwap
    return [(sid, path) for _, sid, path in sorted(stamped, key=lambda s: s[0], reverse=True)]


def _newest(project_dir: Path, markers: tuple[str, ...]) -> PickedSession:
    """``_newest_once`` from a listing no swap of Syncthing's was in the middle of (at most
    ``SWAP_WAIT_S``, then from what is there): the newest session must not be passed over for
    an older one because its new version was being renamed into place."""
    deadline = time.monotonic() + SWAP_WAIT_S
    while True:
        try:
            return _newest_once(project_dir, markers, settled=time.monotonic() > deadline)
        except _MidSwap:
            time.sleep(SWAP_RETRY_S)


def _newest_once(project_dir: Path, markers: tuple[str, ...], *, settled: bool) -> PickedSession:
    """What ``claude -c`` would pick, passing over agents' sessions (``engine.agentmark``) for
    the newest person's one; only agents' sessions: the newest of them, marked as such."""
    agents: list[PickedSession] = []
    for session_id, path in _by_mtime(project_dir, settled=settled):
        if not _has_conversation(path):
            if not settled and not os.path.lexists(path):
                raise _MidSwap  # removed since the listing: Syncthing is replacing it
            continue
        title = custom_title(path)
        why = agent_mark(path, title, markers)
        if why is None:
            notes = tuple(_agent_next(agent) for agent in agents[:_MAX_LISTED])
            return PickedSession(session_id, path, title, "newest", agents_next=notes)
        agents.append(PickedSession(session_id, path, title, "newest", agent=why))
    if agents:
        return agents[0]
    raise NoSessionHere(
        f"No session here yet (nothing in {project_dir}).",
        hint="Start one with `claude` or `roam cn NAME`.",
    )


def _agent_next(agent: PickedSession) -> str:
    title = f" ({agent.title})" if agent.title else ""
    return (
        f"An agent's session is next to it, newer: {agent.session_id}{title} ({agent.agent}); "
        f"`roam cr {agent.session_id}` resumes that one."
    )


def pick_newest(folders: Sequence[Path], markers: tuple[str, ...] | None = None) -> PickedSession:
    """The newest session of several project folders (the cwd's own and its mapped paths'),
    a person's before an agent's as in one folder (``_newest``)."""
    found = agent_markers() if markers is None else markers
    picked: list[PickedSession] = []
    for folder in folders:
        try:
            picked.append(_newest(folder, found))
        except SessionNotFound:
            continue
    if not picked:
        return _newest(folders[0], found)  # raises NoSessionHere, naming the cwd's own folder
    people = [p for p in picked if p.agent is None] or picked
    return max(people, key=lambda p: _mtime(p.path))


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


def pick_session(
    project_dir: Path,
    projects_root: Path,
    query: str | None = None,
    markers: tuple[str, ...] | None = None,
) -> PickedSession:
    """The session to resume from ``project_dir`` (the cwd's project folder).

    ``query`` is a full id, a unique id prefix (at least 4 characters) or a custom title. Matches
    in the cwd's project folder come first; only when there are none there is every project
    folder under ``projects_root`` searched (``claude -r`` resumes a session wherever it lies).
    Raises SessionNotFound naming the candidates when nothing or more than one session matches.
    Without ``query``, agents' sessions are passed over for a person's (``markers``: the
    agent markers, default roam's config).
    """
    if query is None or not query.strip():
        return _newest(project_dir, agent_markers() if markers is None else markers)
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
