"""Which sessions ``roam conflicts`` works on: those with conflict copies or a fork, or one named.

``pending_sessions`` finds the sessions a merge has work in, ``describe_pending`` is one row of
``roam conflicts list``, and ``resolve_session`` / ``resolve_backup_session`` turn what a person
typed (an id, a prefix, a path) into exactly one session, or a sentence listing the candidates.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.conflicts.forks import file_has_fork, needs_repair
from session_roam.engine.core.paths import ensure_inside, validate_session_id
from session_roam.engine.core.safefs import has_link_below
from session_roam.engine.core.store import (
    SessionFiles,
    find_session_files,
    list_all_sessions,
    list_sessions,
    original_name,
)
from session_roam.errors import InvalidInput, SessionNotFound

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["describe_pending", "pending_sessions", "resolve_backup_session", "resolve_session"]

_PREFIX_RE: Final = re.compile(r"[0-9a-fA-F-]{1,36}")
_MAX_CANDIDATES: Final = 10


def pending_sessions(
    projects_root: Path, project_dir: Path | None = None, *, forks: bool = True
) -> tuple[SessionFiles, ...]:
    """Sessions with conflict copies or a take-over fork in their transcript (``forks.py``).

    A session whose files include a symlink is left out: it is never merged (``safefs``), and
    one planted link must not stop ``merge --all`` or ``watch`` merging every other session.

    In one project folder, or everywhere when ``project_dir`` is ``None``. Finding forks reads
    every transcript; ``forks=False`` looks for conflict copies only.
    """
    found = (
        list_sessions(project_dir) if project_dir is not None else list_all_sessions(projects_root)
    )
    wanted = needs_repair if forks else (lambda session: session.has_conflicts)
    return tuple(session for session in found if wanted(session) and not _linked(session))


def _linked(session: SessionFiles) -> bool:
    """A copy's original is a symlink (or under one): never merged, ``list`` names the link."""
    originals = {copy.original for copy in session.conflict_copies} | {session.main}
    return any(has_link_below(session.project_dir, path) for path in originals)


def describe_pending(session: SessionFiles) -> dict[str, Any]:
    """One row of `roam conflicts list`: the session, each copy with its size and stamps, and
    whether its transcript holds a take-over fork (two machines' turns in one file)."""
    copies = []
    for copy in session.conflict_copies:
        try:
            info = copy.path.stat()
            size: int | None = info.st_size
            mtime: float | None = info.st_mtime
        except FileNotFoundError:
            size = mtime = None  # Syncthing removed it since the listing; report what we saw
        copies.append(
            {
                "path": os.path.relpath(copy.path, session.project_dir),
                "original": os.path.relpath(copy.original, session.project_dir),
                "stamps": list(copy.stamps),
                "size": size,
                "mtime": mtime,
            }
        )
    return {
        "session_id": session.session_id,
        "project_dir": str(session.project_dir),
        "main_exists": session.main_exists,
        "conflict_copies": copies,
        "take_over_fork": session.main_exists and file_has_fork(session.main),
    }


def _candidates_text(sessions: Sequence[SessionFiles]) -> str:
    shown = [f"{s.session_id} ({s.project_dir.name})" for s in sessions[:_MAX_CANDIDATES]]
    more = len(sessions) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _session_from_path(ref: str, projects_root: Path) -> SessionFiles:
    """The session of ``<slug>/<id>.jsonl``, of a conflict copy of it, or of a file in ``<id>/``."""
    path = ensure_inside(Path(os.path.abspath(Path(ref).expanduser())), projects_root)
    parts = path.relative_to(os.path.realpath(projects_root)).parts
    if len(parts) < 2:
        raise InvalidInput(
            f"{ref} is a project folder, not a session file.",
            hint="Give the path of <project>/<session-id>.jsonl, or just the session id.",
        )
    name = original_name(parts[1])
    session_id = validate_session_id(name.removesuffix(".jsonl") if len(parts) == 2 else name)
    return find_session_files(path.parents[len(parts) - 2], session_id)


def resolve_session(ref: str, projects_root: Path) -> SessionFiles:
    """The one session ``ref`` names: a full id, a unique id prefix, or a path to its file.

    Ids are unique across projects in practice; if one id or prefix matches sessions in several
    project folders, the candidates are listed so the user can pick by path.
    """
    if "/" in ref or ref.endswith(".jsonl"):
        return _session_from_path(ref, projects_root)
    if not _PREFIX_RE.fullmatch(ref):
        raise InvalidInput(
            f"{ref!r} is not a session id or the start of one (hex digits and dashes).",
            hint="Run `roam conflicts list --all` to see the session ids there are.",
        )
    prefix = ref.lower()
    matches = [s for s in list_all_sessions(projects_root) if s.session_id.startswith(prefix)]
    if not matches:
        raise SessionNotFound(f"No session id starts with {ref!r} under {projects_root}.")
    if len(matches) > 1:
        raise InvalidInput(
            f"{ref!r} matches {len(matches)} sessions: {_candidates_text(matches)}.",
            hint="Give more characters of the id, or the path of the session file.",
        )
    return matches[0]


def resolve_backup_session(ref: str, backups: Sequence[str]) -> str:
    """The session id ``ref`` names among sessions that have backups (``backups``)."""
    if not _PREFIX_RE.fullmatch(ref):
        raise InvalidInput(f"{ref!r} is not a session id or the start of one.")
    matches = sorted(s for s in backups if s.startswith(ref.lower()))
    if not matches:
        raise SessionNotFound(
            f"There is no roam backup of a session starting with {ref!r}.",
            hint="Only sessions merged by `roam conflicts merge` can be undone.",
        )
    if len(matches) > 1:
        raise InvalidInput(
            f"{ref!r} matches {len(matches)} backed-up sessions: {', '.join(matches[:10])}.",
            hint="Give more characters of the session id.",
        )
    return matches[0]
