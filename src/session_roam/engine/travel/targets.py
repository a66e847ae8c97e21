"""Which session ``roam export`` reads, and which project folder ``roam import`` writes into.

An import lands where this machine's Claude Code looks for it: the fixed project folder when
``CLAUDE_CODE_PROJECT_DIR_NAME`` is in force; else the folder of ``--cwd``; else, when the cwd
recorded in the session is under a path that ``roam paths map`` maps here, the folder of the
mapped path; else the folder of the current directory. A session this machine already has
stays in its folder. ``claude -r ID`` then resumes it from that directory, and ``roam cr``
from there or from any directory mapped to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.core import xdg
from session_roam.engine.core.paths import (
    claude_config_dir,
    fixed_project_name,
    project_dir_for,
    projects_dir,
)
from session_roam.engine.sessions.pathmap import load_pathmap
from session_roam.engine.sessions.pick import PickedSession, pick_session
from session_roam.errors import SessionNotFound

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["export_target", "import_target"]


def export_target(query: str, cwd: Path, claude_dir: Path | None) -> tuple[PickedSession, Path]:
    """The session ``query`` names (id, prefix or title, as ``roam cr``), and the config folder."""
    config = claude_config_dir(claude_dir)
    picked = pick_session(project_dir_for(cwd, config), projects_dir(config), query)
    return picked, config


def _already_here(session_id: str, config: Path) -> Path | None:
    """The project folder that holds this session already, wherever it is filed."""
    try:
        picked = pick_session(projects_dir(config), projects_dir(config), session_id)
    except SessionNotFound:
        return None
    return picked.project_dir


def import_target(
    recorded_cwd: str | None,
    cwd: Path,
    explicit_cwd: Path | None,
    claude_dir: Path | None,
    session_id: str | None = None,
) -> tuple[Path, Path]:
    """The project folder an import goes to, and the config folder.

    A session already on this machine (same id) stays where it is, unless ``--cwd`` says
    otherwise: two files of one session in two project folders would make ``-r`` ambiguous.
    """
    config = claude_config_dir(claude_dir)
    if explicit_cwd is None and session_id is not None:
        existing = _already_here(session_id, config)
        if existing is not None:
            return existing, config
    if fixed_project_name() is not None or explicit_cwd is not None:
        return project_dir_for(explicit_cwd or cwd, config), config
    pathmap = load_pathmap(xdg.config_dir())
    if recorded_cwd and pathmap.is_mapped(recorded_cwd):
        return project_dir_for(pathmap.to_local(recorded_cwd), config), config
    return project_dir_for(cwd, config), config
