"""``roam export``: one session, whole, in one checksummed file.

The file is a gzip'd tar. Its first member is ``manifest.json`` (format ``roam.export/1``): the
session id, the cwd and project folder it was recorded under, the machine, and the size and
sha256 of every other member. The members are the session (``session.jsonl``), its sibling
folder (``sidecar/...``, subagents and tool results) and its companions from this machine's
config folder (``companions/<kind>/<name>``: todos, plans, file history, tasks). Nothing else is
read: links are skipped, sizes bounded (``unbundle`` checks the same bounds before it writes).
"""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from session_roam import __version__
from session_roam.engine.core.atomic import atomic_write
from session_roam.engine.core.bounded import iter_file_lines, load_record
from session_roam.engine.core.safefs import LinkRefused, read_bytes_nofollow
from session_roam.engine.travel.files import carried_files, local_files, read_companion, sha256
from session_roam.engine.travel.kinds import CARRIED_DIR, carried_dir
from session_roam.errors import InvalidInput

__all__ = [
    "EXPORT_FORMAT",
    "MANIFEST",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_TOTAL_BYTES",
    "ExportReport",
    "export_session",
    "recorded_cwd",
]

EXPORT_FORMAT: Final = "roam.export/1"
MANIFEST: Final = "manifest.json"
SESSION_MEMBER: Final = "session.jsonl"
#: An export is held in memory whole (on both sides): these bound what a file can make roam hold.
MAX_MEMBER_BYTES: Final = 512 * 1024 * 1024
MAX_TOTAL_BYTES: Final = 1024 * 1024 * 1024
MAX_MEMBERS: Final = 20_000


@dataclass(frozen=True, slots=True)
class ExportReport:
    session_id: str
    output: Path
    members: int
    bytes: int
    companions: tuple[str, ...]
    cwd: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "session_id": self.session_id,
            "output": str(self.output),
            "members": self.members,
            "bytes": self.bytes,
            "companions": list(self.companions),
            "cwd": self.cwd,
        }


def recorded_cwd(session_file: Path) -> str | None:
    """The first ``cwd`` recorded in the session's rows."""
    for line in iter_file_lines(session_file):
        if b'"cwd"' in line:
            record = load_record(line)
            if isinstance(record, dict) and isinstance(record.get("cwd"), str):
                return str(record["cwd"])
    return None


def _sidecar_files(sibling: Path) -> list[tuple[str, Path]]:
    """Regular files of the sibling folder, relative names, links and roam's own folder skipped."""
    found: list[tuple[str, Path]] = []
    for here, dirs, files in os.walk(sibling, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(here, d)))
        if os.path.samefile(here, sibling) and CARRIED_DIR in dirs:
            dirs.remove(CARRIED_DIR)
        for name in sorted(files):
            path = os.path.join(here, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode) and not name.startswith(".roam-tmp-"):
                found.append((os.path.relpath(path, sibling), Path(path)))
    return found


def _gather(session_file: Path, config: Path, session_id: str) -> dict[str, bytes]:
    root = session_file.parent.parent
    members: dict[str, bytes] = {}
    try:
        members[SESSION_MEMBER] = read_bytes_nofollow(session_file, root)
    except (LinkRefused, OSError) as exc:
        raise InvalidInput(f"Cannot read {session_file}: {exc}.") from None
    sibling = session_file.with_suffix("")
    if sibling.is_dir() and not sibling.is_symlink():
        for relative, path in _sidecar_files(sibling):
            data = read_companion(path, root)
            if data is not None:
                members[f"sidecar/{relative}"] = data
    # Companions: what travelled here, then this machine's own copies (the newest) over them.
    for key, path in carried_files(carried_dir(session_file), root).items():
        data = read_companion(path, root)
        if data is not None:
            members[f"companions/{key.kind}/{key.name}"] = data
    for key, path in local_files(config, session_id, session_file).items():
        data = read_companion(path, config)
        if data is not None:
            members[f"companions/{key.kind}/{key.name}"] = data
    total = sum(len(d) for d in members.values())
    largest = max((len(d) for d in members.values()), default=0)
    if len(members) > MAX_MEMBERS or total > MAX_TOTAL_BYTES or largest > MAX_MEMBER_BYTES:
        raise InvalidInput(f"Session {session_id} is too large to export in one file.")
    return members


def export_session(session_file: Path, session_id: str, config: Path, output: Path) -> ExportReport:
    """Write ``output`` (atomically, 0600): the manifest, then every member."""
    members = _gather(session_file, config, session_id)
    cwd = recorded_cwd(session_file)
    manifest = {
        "format": EXPORT_FORMAT,
        "session_id": session_id,
        "cwd": cwd,
        "project": session_file.parent.name,
        "machine": socket.gethostname(),
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "roam_version": __version__,
        "members": [
            {"name": name, "size": len(data), "sha256": sha256(data)}
            for name, data in sorted(members.items())
        ],
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in [
            (MANIFEST, json.dumps(manifest, indent=1).encode()),
            *sorted(members.items()),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    payload = buffer.getvalue()
    atomic_write(output, payload, mode=0o600)
    companions = tuple(
        sorted(n.removeprefix("companions/") for n in members if n.startswith("companions/"))
    )
    return ExportReport(session_id, output, len(members), len(payload), companions, cwd)
