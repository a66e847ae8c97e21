"""The scope of a warm ``roam cf`` without ``--all``: this directory's project folder, with ``os``
alone.

``pathmap.local_project_dirs`` is the rule (the cwd's folder, plus the folders path mappings
and a case-insensitive file system add); it imports ``json``, ``pathlib``, ``re`` and
``typing``, ~17 ms, more than the warm search itself. Where none of those additions can apply
(no ``paths.json``, no fixed project folder name, a case-sensitive file system, a plain ASCII
cwd short enough to need no hash) the scope is the cwd's slug, computed here; elsewhere this
answers None and the full ``roam cf`` decides. tests/engine/test_search_scope_warm.py holds it
to ``local_project_dirs``.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not from typing: the warm `roam cf` loads this module
if TYPE_CHECKING:
    from typing import Final

__all__ = ["warm_scope"]

_SLUG_MAX: Final = 200  # core.paths.SLUG_MAX: a longer slug ends in a hash
_FIXED_PROJECT_ENV: Final = "CLAUDE_CODE_PROJECT_DIR_NAME"  # core.paths.FIXED_PROJECT_ENV
_PATHS_FILE: Final = "paths.json"  # pathmap.PATHS_FILE
_ALNUM: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def warm_scope(projects_root: str, config_home: str) -> frozenset[str] | None:
    """The project folder names of the current directory's sessions, as ``local_project_dirs``
    gives them, or None when its full rules are needed: a path mapping file in ``config_home``
    (roam's config folder), a fixed project folder name, a ``projects_root`` on a file system
    that ignores case (or one that cannot be probed), or a cwd that is not short plain ASCII.
    """
    if os.environ.get(_FIXED_PROJECT_ENV) and os.environ.get("CLAUDE_CONFIG_DIR"):
        return None
    if os.path.lexists(os.path.join(config_home, _PATHS_FILE)):
        return None
    if not os.path.isabs(projects_root) or os.path.normpath(projects_root) != projects_root:
        return None
    if _folds_case(projects_root):
        return None
    try:
        here = os.path.realpath(os.getcwd())
    except OSError:
        return None
    if not here.isascii() or len(here) > _SLUG_MAX:
        return None
    return frozenset({"".join(char if char in _ALNUM else "-" for char in here)})


def _folds_case(folder: str) -> bool:
    """``pathmap.case_insensitive_fs``: the nearest existing component of ``folder`` with
    letters, looked up with its case swapped (True also when that cannot be told)."""
    candidate = folder
    while True:
        name = os.path.basename(candidate)
        if name != name.swapcase() and os.path.exists(candidate):
            swapped = os.path.join(os.path.dirname(candidate), name.swapcase())
            try:
                return os.path.exists(swapped) and os.path.samefile(candidate, swapped)
            except OSError:
                return True
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return sys.platform == "darwin"
        candidate = parent
