"""The body of ``roam cf``, shared by the typer command and the fast start-up path.

One body, so the two entry points cannot drift: both parse into the same arguments, call
``run_cf`` and leave with the code it returns. It imports neither typer nor rich until there
is something for a person to see, because ``roam cf ... --json`` is what scripts call in a
loop and start-up is most of its time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from session_roam.cli.jsonout import emit_json
from session_roam.errors import ExitCode, NoMatch

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from session_roam.cli.context import Settings
    from session_roam.engine.sessions import Match

__all__ = ["print_matches", "run_cf", "short_time"]


def _existing_xdg(variable: str, default: str) -> Path | None:
    """roam's folder under an XDG base when it already exists (engine.xdg's rule, read-only).

    ``engine.xdg`` creates folders and so imports the atomic-write helpers (tempfile, shutil);
    a warm search only needs to find folders that are there, and falls back to it otherwise.
    """
    value = os.environ.get(variable, "")
    base = Path(value) if value and os.path.isabs(value) else Path.home() / default
    folder = base / "session-roam"
    return folder if folder.is_dir() else None


def run_cf(
    settings: Settings,
    keywords: Sequence[str],
    *,
    all_projects: bool,
    limit: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Search, print the matches (JSON or for a person) and return the exit code: 0 when
    something matched; under JSON an empty list and ``NO_MATCH`` otherwise, for a person
    ``NoMatch``. A ``RoamError`` is the caller's to show."""
    from session_roam.engine.core import claude_config_dir, projects_dir
    from session_roam.engine.sessions import (
        PathMap,
        load_pathmap,
        local_project_dirs,
        search_sessions,
    )

    config = claude_config_dir(settings.claude_dir)
    scope = None
    if not all_projects:
        config_home = _existing_xdg("XDG_CONFIG_HOME", ".config")
        pathmap = load_pathmap(config_home) if config_home else PathMap()
        scope = frozenset(f.name for f in local_project_dirs(Path.cwd(), config, pathmap))
    result = search_sessions(
        list(keywords),
        projects_root=projects_dir(config),
        cache_dir=_existing_xdg("XDG_CACHE_HOME", ".cache") or _cache_dir(),
        scope=scope,
        limit=limit,
        progress=progress,
    )
    if result.unreadable:  # else "nothing matches" would hide sessions that were not read
        _warn_unreadable(result.unreadable)
    if settings.json:
        emit_json([match.as_json() for match in result.matches])
    elif result.matches:
        print_matches(result.matches)
    else:  # for a person, no match is said like any other outcome that is not a hit
        where = "any session" if all_projects else "this directory's sessions"
        raise NoMatch(
            f"Nothing in {where} matches {' '.join(keywords)!r}.",
            hint=None if all_projects else "Try other words, or every project with --all.",
        )
    return int(ExitCode.OK if result.matches else ExitCode.NO_MATCH)


def _warn_unreadable(paths: Sequence[str]) -> None:
    """One line on stderr per session file the search could not open, naming it and the fix."""
    from session_roam.cli.output import plain

    for path in paths:
        sys.stderr.write(
            f"warning: cannot read {plain(path)}, so it was not searched; give your user read "
            "access to it.\n"
        )


def _cache_dir() -> Path:
    from session_roam.engine.core import xdg

    return xdg.cache_dir()


def short_time(stamp: str | None) -> str:
    """A record's ISO timestamp as a person scans it in a list (minutes, no "T")."""
    return stamp[:16].replace("T", " ") if stamp else "-"


def print_matches(matches: tuple[Match, ...]) -> None:
    """Each match as a person reads it; every piece of file text through ``plain``."""
    from rich.text import Text

    from session_roam.cli.output import console, plain

    out = console()
    for match in matches:
        head = Text(plain(f"{match.session_id}  {short_time(match.timestamp)}  "), style="bold")
        head.append(plain(match.title or match.cwd or match.project))
        out.print(head)
        body, done = Text("    "), 0
        for start, end in match.highlights:  # escaped piece by piece, so offsets still fit
            start = max(start, done)
            body.append(plain(match.snippet[done:start]))
            body.append(plain(match.snippet[start:end]), style="bold reverse")
            done = max(done, end)
        body.append(plain(match.snippet[done:]))
        out.print(body)
