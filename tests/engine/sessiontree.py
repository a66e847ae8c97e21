"""Build Claude Code project folders with sessions and Syncthing conflict copies for tests."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

SID: Final = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"
SID2: Final = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
STAMP_A: Final = "20261125-131239-MRUWJBM"
STAMP_B: Final = "20261125-131730-7VA6ENF"


def row(uuid: str, parent: str | None, text: str, session_id: str = SID) -> bytes:
    """One user row of a transcript, as Claude Code writes it (one JSON object per line)."""
    record = {
        "parentUuid": parent,
        "isSidechain": False,
        "type": "user",
        "message": {"role": "user", "content": text},
        "uuid": uuid,
        "timestamp": f"2026-11-25T13:{len(text) % 60:02d}:00.000Z",
        "sessionId": session_id,
        "cwd": "/tmp/proj",
    }
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def u(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


BASE: Final = row(u(1), None, "base one") + row(u(2), u(1), "base two")
FROM_A: Final = BASE + row(u(3), u(2), "turn written on A")
FROM_B: Final = BASE + row(u(4), u(2), "turn written on B")


@dataclass(frozen=True, slots=True)
class Tree:
    """A ~/.claude folder under a test's tmp_path."""

    config: Path

    @property
    def projects(self) -> Path:
        return self.config / "projects"

    def project(self, slug: str = "-tmp-proj") -> Path:
        folder = self.projects / slug
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def write(self, relative: str, data: bytes, *, slug: str = "-tmp-proj") -> Path:
        path = self.project(slug) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def conflicted_session(self, session_id: str = SID, *, slug: str = "-tmp-proj") -> Path:
        """Main file = B's version, conflict copy = A's version (as Syncthing leaves it)."""
        self.write(f"{session_id}.sync-conflict-{STAMP_A}.jsonl", FROM_A, slug=slug)
        return self.write(f"{session_id}.jsonl", FROM_B, slug=slug)

    def snapshot(self) -> dict[str, bytes]:
        """Every file under projects/, by relative path."""
        found: dict[str, bytes] = {}
        for root, _dirs, files in os.walk(self.projects):
            for name in files:
                path = Path(root) / name
                found[str(path.relative_to(self.projects))] = path.read_bytes()
        return found

    def tree_hash(self) -> str:
        digest = hashlib.sha256()
        for relative, data in sorted(self.snapshot().items()):
            digest.update(relative.encode() + b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()

    def conflict_files(self) -> list[str]:
        return sorted(rel for rel in self.snapshot() if ".sync-conflict-" in rel)
