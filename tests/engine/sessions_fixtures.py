"""Session files shaped like Claude Code 2.1.331's, for the ls/cf/paths tests.

Rows carry the fields roam reads (type, uuid, parentUuid, cwd, sessionId, timestamp, message),
in the compact JSON Claude Code writes, so the byte-level prefilters are exercised too.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from session_roam.engine.core.paths import project_dir_for, project_slug, projects_dir

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["SessionWriter", "row_bytes"]


def row_bytes(row: dict[str, Any]) -> bytes:
    return (json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


@dataclass
class SessionWriter:
    """Writes and appends session files under one Claude config folder."""

    config_dir: Path
    clock: int = field(default=0)

    def _stamp(self) -> str:
        self.clock += 1
        return f"2026-03-01T10:{self.clock // 60:02d}:{self.clock % 60:02d}.000Z"

    def folder(self, cwd: Path | str, *, exact: bool = False) -> Path:
        """The project folder; ``exact`` for a foreign path that does not exist here."""
        if exact:
            return projects_dir(self.config_dir) / project_slug(str(cwd))
        return project_dir_for(cwd, self.config_dir)

    def rows(
        self, session_id: str, cwd: str, turns: list[tuple[str, str]], *, title: str | None = None
    ) -> bytes:
        data = b""
        parent: str | None = None
        for prompt, answer in turns:
            user = str(uuid.uuid4())
            data += row_bytes(
                {
                    "parentUuid": parent,
                    "type": "user",
                    "uuid": user,
                    "cwd": cwd,
                    "sessionId": session_id,
                    "timestamp": self._stamp(),
                    "message": {"role": "user", "content": prompt},
                }
            )
            reply = str(uuid.uuid4())
            data += row_bytes(
                {
                    "parentUuid": user,
                    "type": "assistant",
                    "uuid": reply,
                    "cwd": cwd,
                    "sessionId": session_id,
                    "timestamp": self._stamp(),
                    "message": {
                        "role": "assistant",
                        "content": [{"type": "text", "text": answer}],
                    },
                }
            )
            parent = reply
        if title is not None:
            data += row_bytes(
                {"type": "custom-title", "customTitle": title, "sessionId": session_id}
            )
        return data

    def write(
        self,
        cwd: Path | str,
        turns: list[tuple[str, str]],
        *,
        title: str | None = None,
        session_id: str | None = None,
        exact: bool = False,
    ) -> Path:
        sid = session_id or str(uuid.uuid4())
        folder = self.folder(cwd, exact=exact)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{sid}.jsonl"
        path.write_bytes(self.rows(sid, str(cwd), turns, title=title))
        return path

    def append(self, path: Path, turns: list[tuple[str, str]]) -> None:
        cwd = json.loads(path.read_bytes().split(b"\n", 1)[0])["cwd"]
        with path.open("ab") as handle:
            handle.write(self.rows(path.stem, cwd, turns))
