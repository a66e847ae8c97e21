"""Installing roam's ``.stignore`` without ever silently overwriting a user's own rules.

Syncthing never syncs ``.stignore``, so every machine needs its own copy. A fresh folder gets
the template verbatim. A folder that already has a different file keeps every line of it; the
template's patterns that it lacks are appended in one marked block, so re-running setup adds
nothing the second time.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.atomic import atomic_write, make_private_dirs

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "MERGE_MARKER",
    "STIGNORE",
    "IgnoreInstall",
    "install_stignore",
    "patterns",
    "template_text",
]

STIGNORE: Final = ".stignore"
MERGE_MARKER: Final = "// ---- added by `roam setup`: patterns from roam's template ----"


@dataclass(frozen=True, slots=True)
class IgnoreInstall:
    """What happened to ``.stignore``: ``installed``, ``unchanged`` or ``merged``."""

    action: str
    path: Path
    added: tuple[str, ...] = ()


def template_text() -> str:
    """The packaged template (``data/stignore.template``, a link to the repo-root file)."""
    resource = importlib.resources.files("session_roam") / "data" / "stignore.template"
    return resource.read_text(encoding="utf-8")


def patterns(text: str) -> list[str]:
    """Pattern lines only: comments (``//``) and blank lines are prose, not rules."""
    return [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("//")
    ]


def install_stignore(folder: Path) -> IgnoreInstall:
    """Put roam's patterns into ``folder/.stignore``; keep whatever the user already has."""
    path = folder / STIGNORE
    template = template_text()
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        make_private_dirs(folder)
        atomic_write(path, template.encode("utf-8"))
        return IgnoreInstall("installed", path)
    have = set(patterns(current))
    missing = tuple(p for p in patterns(template) if p not in have)
    if not missing:
        return IgnoreInstall("unchanged", path)
    block = "\n".join((MERGE_MARKER, *missing))
    joined = current if current.endswith("\n") or not current else current + "\n"
    atomic_write(path, f"{joined}\n{block}\n".encode())
    return IgnoreInstall("merged", path, missing)
