"""Which way this machine recognises a project that lives at another path elsewhere.

Claude Code files sessions under a folder named after the cwd, so the same project at
``/Users/nat/app`` and ``/home/nat/app`` is two folders unless roam is told. Two ways exist:
path maps (``roam paths map``, read by ``cr``, ``ls``, ``cs`` and import) or the client's
fixed project folder name (``CLAUDE_CODE_PROJECT_DIR_NAME`` with ``CLAUDE_CONFIG_DIR``, 2.1.234+).
The check says which one is in force here, and warns about a fixed name the client ignores.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from session_roam.engine.core import xdg
from session_roam.engine.core.paths import FIXED_PROJECT_ENV, fixed_project_name
from session_roam.engine.sessions.pathmap import load_pathmap
from session_roam.engine.verify.checks_node import check_paths
from session_roam.engine.verify.model import Finding, Status
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping

    from session_roam.engine.verify.model import Snapshot

__all__ = ["check_paths_and_identity", "check_project_identity"]


def _mappings() -> int:
    try:
        return len(load_pathmap(xdg.config_dir()).mappings)
    except InvalidInput:
        return 0  # check_paths and `roam paths list` say what is wrong with the file


def check_project_identity(environ: Mapping[str, str] | None = None) -> list[Finding]:
    env = os.environ if environ is None else environ
    fixed = fixed_project_name(env)
    maps = _mappings()
    by_maps = f"{maps} path map{'s' if maps != 1 else ''} (`roam paths list`)"
    if fixed is not None:
        also = f"; the {by_maps} still apply to sessions from other folders" if maps else ""
        return [
            Finding(
                "paths",
                Status.OK,
                f"Projects are identified by the fixed project folder name {fixed!r} "
                f"({FIXED_PROJECT_ENV}): every directory's sessions are in projects/{fixed}{also}.",
            )
        ]
    asked = env.get(FIXED_PROJECT_ENV)
    if asked:
        why = (
            "CLAUDE_CONFIG_DIR is not set"
            if not env.get("CLAUDE_CONFIG_DIR")
            else ("it is not 1-64 letters, digits, '_' or '-' (or it is a device name)")
        )
        return [
            Finding(
                "paths",
                Status.WARN,
                f"{FIXED_PROJECT_ENV}={asked!r} is set, but Claude Code ignores it: {why}. "
                "Sessions are filed under each directory's own folder.",
                fix=f"export CLAUDE_CONFIG_DIR=~/.claude   # or unset {FIXED_PROJECT_ENV}",
            )
        ]
    how = f"through {by_maps}" if maps else "by their path only (no path map, no fixed name)"
    return [Finding("paths", Status.OK, f"Projects at other paths are recognised {how}.")]


def check_paths_and_identity(snap: Snapshot) -> list[Finding]:
    """The ``paths`` dimension: sessions without a folder here, and the identity in force.

    In order, it stays one finding (the identity said in the same sentence); a problem of
    either kind is reported as its own finding.
    """
    paths = check_paths(snap)
    (identity,) = check_project_identity()
    problems = [f for f in paths if f.status is not Status.OK]
    if identity.status is not Status.OK:
        return [*problems, identity]
    if problems:
        return problems
    return [Finding("paths", Status.OK, f"{paths[0].message} {identity.message}")]
