"""What Claude Code keeps of a session outside ``projects/``, and where (2.1.331).

Each kind is a folder of the config folder holding files of one session (docs/design/
companions.md lists them and how each was found). roam carries them in the session's own
sibling folder, under ``<session-id>/roam-companions/<kind>/``, so they travel, are leased,
archived and protected from deletion exactly as the session is; ``carry`` copies them in and out.

Names are validated before they touch a path: a name that does not match its kind's pattern is
not a companion (it may have come through sync from anywhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.bounded import iter_file_lines, load_record

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "CARRIED_DIR",
    "KINDS",
    "MAX_COMPANION_BYTES",
    "Kind",
    "belongs",
    "carried_dir",
    "plan_slugs",
]

#: The folder under a session's sibling folder that holds its companions.
CARRIED_DIR: Final = "roam-companions"
#: A companion file larger than this is not carried (file-history copies whole files).
MAX_COMPANION_BYTES: Final = 64 * 1024 * 1024

_SLUG_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")
_SLUG_KEY_RE: Final = re.compile(rb'"slug"\s*:\s*"([a-z0-9][a-z0-9-]{0,127})"')


@dataclass(frozen=True, slots=True)
class Kind:
    """One companion kind: ``<config>/<folder>/`` and which of its names belong to a session.

    ``per_session`` kinds keep a folder per session (``<folder>/<session-id>/<name>``); the
    others keep files whose name starts with a key of the session (its id, or its plan slug).
    ``merge`` says how two versions edited apart are joined: ``keep-both`` (plans: both texts),
    ``newer`` (the later file) or ``immutable`` (content-addressed: the first one stays).
    """

    name: str
    folder: str
    per_session: bool
    pattern: re.Pattern[str]
    merge: str

    def accepts(self, name: str) -> bool:
        return self.pattern.fullmatch(name) is not None


KINDS: Final = (
    # /rewind snapshots: file-history/<session>/<16 or 64 hex>@v<n>, written once, never changed.
    Kind(
        "file-history",
        "file-history",
        True,
        re.compile(r"[0-9a-f]{16}(?:[0-9a-f]{48})?@v[0-9]{1,9}"),
        "immutable",
    ),
    # TaskCreate/TaskUpdate: tasks/<session>/<n>.json and the id high-water mark.
    Kind("tasks", "tasks", True, re.compile(r"[0-9]{1,9}\.json|\.highwatermark"), "newer"),
    # TodoWrite of clients that keep it on disk: todos/<session>-agent-<agent>.json.
    Kind(
        "todos", "todos", False, re.compile(r"[0-9a-f-]{36}-agent-[0-9a-f-]{1,64}\.json"), "newer"
    ),
    # Plan mode: plans/<slug>.md (and <slug>-agent-<agent>.md), the slug recorded in the rows.
    Kind(
        "plans",
        "plans",
        False,
        re.compile(r"[a-z0-9][a-z0-9-]{0,127}(?:-agent-[A-Za-z0-9_-]{1,64})?\.md"),
        "keep-both",
    ),
)


def carried_dir(session_file: Path) -> Path:
    """``<project>/<session-id>/roam-companions``: where a session's companions travel."""
    return session_file.with_suffix("") / CARRIED_DIR


def plan_slugs(session_file: Path) -> frozenset[str]:
    """The plan slugs recorded in a session's rows (``"slug"``), read bounded, links refused."""
    slugs: set[str] = set()
    tried: set[bytes] = set()
    for line in iter_file_lines(session_file):
        found = _SLUG_KEY_RE.search(line)
        # Every row after plan mode repeats the slug: parse a row only for a slug not yet seen,
        # and only a top-level "slug" counts (a tool's input may have a key of that name).
        if found is None or found.group(1) in tried:
            continue
        tried.add(found.group(1))
        record = load_record(line)
        if isinstance(record, dict):
            slug = record.get("slug")
            if isinstance(slug, str) and _SLUG_RE.fullmatch(slug):
                slugs.add(slug)
            else:
                tried.discard(found.group(1))  # maybe nested here; a later row may say it
    return frozenset(slugs)


def belongs(kind: Kind, name: str, session_id: str, slugs: frozenset[str]) -> bool:
    """Whether ``name`` in a non-per-session kind's folder is one of this session's files."""
    if not kind.accepts(name):
        return False
    if kind.name == "todos":
        return name.startswith(f"{session_id}-agent-")
    stem = name.removesuffix(".md")
    return any(stem == slug or stem.startswith(f"{slug}-agent-") for slug in slugs)
