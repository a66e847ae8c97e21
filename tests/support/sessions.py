"""Build the on-disk situations Syncthing leaves behind, from sessions the real client wrote.

A ``DivergedSession`` holds the bytes of one session as it was when copied to other machines
(``base``) and as each machine left it after continuing on its own (``versions``). ``install``
lays any of those into a home the way Syncthing would: one version under the real name, the
others as ``<id>.sync-conflict-<stamp>-<device>.jsonl`` beside it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from tests.support.claude import ClaudeHome

__all__ = [
    "BASE_PROMPTS",
    "CONFLICT_STAMP",
    "CONTINUATIONS",
    "DivergedSession",
    "conflict_copy_name",
    "copy_projects",
    "naive_union",
    "torn",
]

#: The two turns machine ``a`` makes before its session is copied to the others.
BASE_PROMPTS: Final = ("first", "RUN: echo from-base")
#: What each machine then says on its own copy, in this order (so a's rows are oldest).
CONTINUATIONS: Final = {"a": "RUN: echo from-a", "b": "RUN: echo from-b", "c": "plain from c"}

#: The time part Syncthing puts in a conflict copy's name (when the copy was made).
CONFLICT_STAMP: Final = "20261125-120000"


def conflict_copy_name(session_id: str, device: str) -> str:
    """Syncthing's name for the losing version: ``<id>.sync-conflict-<stamp>-<device>.jsonl``."""
    return f"{session_id}.sync-conflict-{CONFLICT_STAMP}-{device}.jsonl"


def copy_projects(source: ClaudeHome, target: ClaudeHome) -> None:
    """What a first sync does: the whole ``projects`` tree, modification times included."""
    shutil.copytree(source.projects_dir, target.projects_dir, dirs_exist_ok=True)


def naive_union(versions: Sequence[bytes]) -> bytes:
    """Every distinct line of every version, first appearance first: the merge roam replaces."""
    seen: set[bytes] = set()
    out: list[bytes] = []
    for version in versions:
        for line in version.splitlines(keepends=True):
            key = line.rstrip(b"\n")
            if key and key not in seen:
                seen.add(key)
                out.append(key + b"\n")
    return b"".join(out)


def torn(version: bytes, fragment: bytes) -> bytes:
    """``version`` with half a JSON line and no newline at the end, as after a killed append."""
    return version + fragment


@dataclass(frozen=True, slots=True)
class DivergedSession:
    """One session that several machines continued while apart."""

    session_id: str
    cwd: Path
    base: bytes
    versions: Mapping[str, bytes]

    def install(
        self,
        home: ClaudeHome,
        main: bytes,
        copies: Mapping[str, bytes],
    ) -> Path:
        """Write ``main`` as the session file and each ``copies[device]`` as a conflict copy.

        Returns the main file. Copies are older than the main file, as Syncthing's loser is.
        """
        folder = home.project_dir(self.cwd)
        folder.mkdir(parents=True, exist_ok=True)
        for device, content in copies.items():
            self.add_conflict_copy(home, device, content)
        path = folder / f"{self.session_id}.jsonl"
        path.write_bytes(main)
        return path

    def add_conflict_copy(self, home: ClaudeHome, device: str, content: bytes) -> Path:
        """Lay ``content`` beside the session file as the conflict copy tagged ``device``."""
        path = home.project_dir(self.cwd) / conflict_copy_name(self.session_id, device)
        path.write_bytes(content)
        return path

    def started_at(self, name: str) -> str:
        """When machine ``name`` began its own turn: the first user row after ``base``."""
        for line in self.versions[name][len(self.base) :].splitlines():
            row = json.loads(line)
            if row.get("type") == "user" and "timestamp" in row:
                return str(row["timestamp"])
        raise ValueError(f"machine {name!r} wrote no user row after the copy")

    def order(self, names: Sequence[str]) -> list[str]:
        """``names`` sorted by when each machine started its turn (ISO strings sort in time)."""
        return sorted(names, key=lambda name: (self.started_at(name), name))
