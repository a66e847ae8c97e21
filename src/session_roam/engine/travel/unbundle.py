"""``roam import``: check an export whole, then place it where ``roam cr`` and ``claude -r`` look.

Nothing is written before everything is checked: the manifest (its format, the session id), every
member (a regular file; a name that is relative, has no ``..``, no empty or hidden-temp part and
only ``A-Z a-z 0-9 . _ @ -`` characters; a size under the bounds; the sha256 the manifest gives),
and that the members are exactly those the manifest lists. Then the sibling folder and the
companions are written, the session file last (atomic, 0600, folders 0700), and the companions
are placed into this machine's config folder as ``roam cr`` would.

A session with the same id already here is left alone: the same bytes make the import a no-op,
different ones are refused (``MergeError``) unless ``merge`` is asked: then the merge engine
joins both (``engine.conflicts``, as ``roam conflicts merge`` does; the originals are in the
backup store and ``roam conflicts undo`` puts them back).
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.core.paths import validate_session_id
from session_roam.engine.core.safefs import has_link_below, read_bytes_nofollow
from session_roam.engine.core.store import being_replaced
from session_roam.engine.travel.bundle import (
    EXPORT_FORMAT,
    MANIFEST,
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_TOTAL_BYTES,
    SESSION_MEMBER,
)
from session_roam.engine.travel.carry import place
from session_roam.engine.travel.files import sha256, write_companion
from session_roam.engine.travel.kinds import KINDS, carried_dir
from session_roam.errors import InvalidInput, MergeError, RoamError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Bundle", "ImportReport", "import_session", "read_bundle"]

_PART_RE: Final = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,254}")
_MAX_MANIFEST: Final = 16 * 1024 * 1024
_KIND_NAMES: Final = {kind.name: kind for kind in KINDS}


@dataclass(frozen=True, slots=True)
class Bundle:
    """A checked export: its manifest and every member's bytes by name."""

    manifest: dict[str, Any]
    members: dict[str, bytes]

    @property
    def session_id(self) -> str:
        return str(self.manifest["session_id"])

    @property
    def cwd(self) -> str | None:
        cwd = self.manifest.get("cwd")
        return cwd if isinstance(cwd, str) else None


@dataclass(frozen=True, slots=True)
class ImportReport:
    session_id: str
    session_file: Path
    project: str
    outcome: str  # "imported", "unchanged" or "merged"
    members: int
    companions: tuple[str, ...]
    recorded_cwd: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "session_id": self.session_id,
            "session_file": str(self.session_file),
            "project": self.project,
            "outcome": self.outcome,
            "members": self.members,
            "companions": list(self.companions),
            "recorded_cwd": self.recorded_cwd,
        }


def _bad(source: Path, why: str) -> InvalidInput:
    return InvalidInput(
        f"{source} is not a valid roam export: {why}.",
        hint="Export the session again with `roam export ID -o FILE` and copy the file whole.",
    )


def _check_name(source: Path, name: str) -> None:
    parts = name.split("/")
    if name.startswith("/") or not all(_PART_RE.fullmatch(p) for p in parts) or ".." in parts:
        raise _bad(source, f"member name {name!r} is not allowed")
    head = parts[0]
    if name in (MANIFEST, SESSION_MEMBER):
        return
    if head == "sidecar" and len(parts) >= 2:
        return
    kind = _KIND_NAMES.get(parts[1]) if head == "companions" and len(parts) == 3 else None
    if kind is not None and kind.accepts(parts[2]):
        return
    raise _bad(source, f"member {name!r} is not part of the export format")


def _check_manifest(source: Path, raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except (ValueError, RecursionError):
        raise _bad(source, "its manifest is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise _bad(source, f"its manifest is not {EXPORT_FORMAT}")
    try:
        manifest["session_id"] = validate_session_id(str(manifest.get("session_id", "")))
    except InvalidInput:
        raise _bad(source, "its session id is not a UUID") from None
    members = manifest.get("members")
    if not isinstance(members, list) or len(members) > MAX_MEMBERS:
        raise _bad(source, "its manifest lists no members")
    for item in members:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(item.get("size"), int)
            and isinstance(item.get("sha256"), str)
        ):
            raise _bad(source, "a member of its manifest is malformed")
    return manifest


def read_bundle(source: Path) -> Bundle:
    """Read and check every byte of the export; InvalidInput naming the first fault."""
    try:
        tar = tarfile.open(source, mode="r:*")  # noqa: SIM115
    except OSError as exc:
        raise _bad(source, f"it cannot be read ({exc.strerror or type(exc).__name__})") from None
    except tarfile.TarError:  # its text lists every method tried, a line each: not for people
        raise _bad(source, "it is not a tar file (roam export writes a gzip'd tar)") from None
    manifest: dict[str, Any] | None = None
    members: dict[str, bytes] = {}
    total = 0
    with tar:
        try:
            for info in tar:
                _check_name(source, info.name)
                if not info.isreg():
                    raise _bad(source, f"member {info.name!r} is not a regular file")
                limit = _MAX_MANIFEST if info.name == MANIFEST else MAX_MEMBER_BYTES
                total += info.size
                if info.size > limit or total > MAX_TOTAL_BYTES or len(members) >= MAX_MEMBERS:
                    raise _bad(source, f"member {info.name!r} is larger than roam accepts")
                if info.name in members or (info.name == MANIFEST and manifest is not None):
                    raise _bad(source, f"member {info.name!r} appears twice")
                handle = tar.extractfile(info)
                data = handle.read() if handle is not None else b""
                if info.name == MANIFEST:
                    manifest = _check_manifest(source, data)
                else:
                    members[info.name] = data
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise _bad(source, f"it is damaged ({exc})") from None
    if manifest is None:
        raise _bad(source, "it has no manifest")
    listed = {item["name"]: item for item in manifest["members"]}
    if set(listed) != set(members) or SESSION_MEMBER not in members:
        raise _bad(source, "its members are not the ones its manifest lists")
    for name, data in members.items():
        if len(data) != listed[name]["size"] or sha256(data) != listed[name]["sha256"]:
            raise _bad(source, f"member {name!r} does not match its checksum")
    return Bundle(manifest, members)


def _merge(project_dir: Path, session_id: str, data: bytes) -> None:
    """Join the imported version into the session here with the merge engine."""
    from session_roam.engine.conflicts.merging import merge_session
    from session_roam.engine.core import xdg
    from session_roam.engine.core.store import find_session_files

    folder = xdg.state_dir() / "imports"
    make_private_dirs(folder)
    extra = folder / f"{session_id}.{os.getpid()}.jsonl"
    atomic_write(extra, data, mode=0o600)
    try:
        merge_session(find_session_files(project_dir, session_id), extras=(extra,))
    finally:
        extra.unlink(missing_ok=True)


def import_session(
    bundle: Bundle, project_dir: Path, config: Path, *, merge: bool = False
) -> ImportReport:
    """Place a checked export in ``project_dir`` (a folder under ``config``'s projects folder)."""
    session_id = bundle.session_id
    root = project_dir.parent
    session_file = project_dir / f"{session_id}.jsonl"
    if has_link_below(root, session_file):
        raise InvalidInput(f"{session_file} is or lies under a symbolic link; nothing imported.")
    data = bundle.members[SESSION_MEMBER]
    outcome = "imported"
    if not session_file.exists() and being_replaced(session_file):
        raise MergeError(  # missing only while Syncthing renames its version in: over ours
            f"Session {session_id} is arriving here from Syncthing right now; nothing imported.",
            hint="Run `roam import --merge FILE` again in a moment to join both.",
        )
    if session_file.exists():
        try:
            here = read_bytes_nofollow(session_file, root)
        except OSError as exc:
            raise RoamError(f"Cannot read {session_file}: {exc}.") from None
        if here == data:
            outcome = "unchanged"
        elif not merge:
            raise MergeError(
                f"Session {session_id} is already here ({session_file}) with other content; "
                "nothing imported.",
                hint="Run `roam import --merge FILE` to join both with the merge engine.",
            )
        else:
            outcome = "merged"
    sibling = session_file.with_suffix("")
    companions: list[str] = []
    make_private_dirs(project_dir)
    for name, member in sorted(bundle.members.items()):
        if name.startswith("sidecar/"):
            path = sibling / name.removeprefix("sidecar/")
            if not path.exists():  # never overwrite what is already here
                write_companion(path, root, member)
        elif name.startswith("companions/"):
            label = name.removeprefix("companions/")
            companions.append(label)
            path = carried_dir(session_file) / label
            if not path.exists():  # never overwrite what is already here
                write_companion(path, root, member)
    if outcome == "imported":
        make_private_dirs(project_dir)
        atomic_write(session_file, data, mode=0o600)
    elif outcome == "merged":
        _merge(project_dir, session_id, data)
    place(session_file, config, session_id)
    return ImportReport(
        session_id,
        session_file,
        project_dir.name,
        outcome,
        len(bundle.members),
        tuple(companions),
        bundle.cwd,
    )
