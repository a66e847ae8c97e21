"""Byte-exact copies of everything a merge replaces or removes, kept outside the synced folder.

Layout (folders 0700, files 0600)::

    $XDG_STATE_HOME/session-roam/backups/
        .objects/<sha256[:2]>/<sha256>                one stored copy per distinct content
        <session-id>/<UTC stamp>/
            files/<path relative to the project folder>   main file and every conflict copy
            with/<n>-<name>                               versions given with --with
            set_aside.jsonl                               lines the merge could not place
            manifest.json                                 the per-merge record undo reads
            pruned                                        present once the bound removed files/

The backup is fsynced before the caller touches the synced folder, so a crash in the middle of
a merge never loses a version. Backups never sync: they live under roam's XDG state folder.

Content-addressed, so that a repeated or killed-and-rerun merge costs no space twice: each
file under ``files/`` and ``with/`` is a hard link to its object (a copy where the file system
has no hard links), so a backup of bytes already backed up adds directory entries only, and
the byte-exact files stay where undo and people look for them. An object no backup links to
any more (link count 1) is garbage for ``backup_bound``; the store is ``backup_store``. Backups
made before the store (plain files) read and undo the same way, and the next prune stores
their bytes once too.

A backup is built in a ``.roam-tmp-*`` folder and renamed to its stamp once complete, so a
killed merge leaves no half backup that looks whole; the next backup of the session removes
a dead one (``engine.temps``).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from session_roam.engine.core.atomic import FILE_MODE, atomic_write, fsync_dir, make_private_dirs
from session_roam.engine.core.backup_store import OBJECTS, Identity, backups_root, store_file
from session_roam.engine.core.temps import TEMP_PREFIX, sweep_dead_temps, temp_prefix
from session_roam.errors import InvalidInput, SessionNotFound

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "MANIFEST_SCHEMA",
    "BackedUpFile",
    "Backup",
    "Original",
    "SetAsideLine",
    "backed_up_sessions",
    "backups_root",
    "create_backup",
    "discard_backup",
    "latest_backup",
    "list_backups",
    "load_backup",
    "mark_undone",
    "restore_file",
    "sha256_hex",
]

MANIFEST_SCHEMA: Final = "roam.backup/1"
_UNDONE: Final = "undone"
_PRUNED: Final = "pruned"


class SetAsideLine(Protocol):
    """What a backup needs from ``session_roam.merge.SetAside`` (kept structural on purpose)."""

    @property
    def label(self) -> str: ...
    @property
    def line_number(self) -> int: ...
    @property
    def raw(self) -> bytes: ...
    @property
    def reason(self) -> str: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Original:
    """A file as it was read for the merge: where it lives and the exact bytes merged.

    ``sha256`` is the bytes' digest when the reader computed it already (hashed once).
    ``source`` with its ``identity`` when read lets the backup hard-link the file instead of
    copying it (``backup_store.store_file``): only for a file the caller replaces by a rename
    or removes, never one it leaves in place (Claude Code appends to those).
    """

    relative: str
    data: bytes
    mode: int = FILE_MODE
    sha256: str = ""
    source: Path | None = None
    identity: Identity | None = None


@dataclass(frozen=True, slots=True)
class BackedUpFile:
    """One file inside a backup; ``relative`` is relative to the session's project folder."""

    relative: str
    sha256: str
    size: int
    mode: int


@dataclass(frozen=True, slots=True)
class Backup:
    """A complete backup, as read back from its manifest."""

    session_id: str
    path: Path
    created: str
    project_dir: Path
    files: tuple[BackedUpFile, ...]
    written: Mapping[str, str]
    created_files: tuple[str, ...]
    manifest: Mapping[str, Any]

    @property
    def kind(self) -> str:
        """``merge`` for a merge's backup; ``before-undo`` for what a forced undo replaced."""
        return str(self.manifest.get("details", {}).get("kind", "merge"))

    @property
    def undone(self) -> bool:
        return (self.path / _UNDONE).exists()

    @property
    def pruned(self) -> bool:
        """The bound removed this backup's files; its manifest and set-aside lines stay."""
        return (self.path / _PRUNED).exists()

    def data_of(self, item: BackedUpFile) -> bytes:
        """The saved bytes of ``item``, checked against the manifest's sha256."""
        data = (self.path / "files" / item.relative).read_bytes()
        if sha256_hex(data) != item.sha256:
            raise InvalidInput(
                f"The backup copy of {item.relative} in {self.path} does not match its checksum.",
                hint="The backup was changed after it was made; restore that file by hand.",
            )
        return data


def _write_private(path: Path, data: bytes) -> None:
    make_private_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _safe_relative(relative: str) -> str:
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts:
        raise InvalidInput(f"{relative!r} is not a path inside a project folder.")
    return relative


def _building_dir(session_dir: Path) -> Path:
    """A fresh temp-named folder to build a backup in; dead ones of killed runs go first."""
    make_private_dirs(session_dir)
    sweep_dead_temps(session_dir)
    return Path(tempfile.mkdtemp(prefix=temp_prefix(), dir=session_dir))  # mode 0700


def _publish(building: Path, now: datetime) -> Path:
    """Rename the complete backup to its UTC stamp (``-<n>`` when the stamp is taken)."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    candidate, n = building.parent / stamp, 1
    while True:
        if not candidate.exists():
            try:
                building.rename(candidate)
                return candidate
            except OSError as exc:  # taken between the check and the rename
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
        candidate, n = building.parent / f"{stamp}-{n}", n + 1


def _set_aside_record(line: SetAsideLine) -> dict[str, Any]:
    record: dict[str, Any] = {
        "label": line.label,
        "line_number": line.line_number,
        "reason": line.reason,
        "raw_base64": base64.b64encode(line.raw).decode("ascii"),
    }
    with contextlib.suppress(UnicodeDecodeError):  # raw_base64 alone keeps the bytes exact
        record["raw"] = line.raw.decode("utf-8")
    return record


def create_backup(
    *,
    session_id: str,
    project_dir: Path,
    originals: Sequence[Original],
    extras: Sequence[tuple[Path, bytes]] = (),
    written: Mapping[str, bytes] | None = None,
    written_sha256: Mapping[str, str] | None = None,
    created_files: Sequence[str] = (),
    set_aside: Sequence[SetAsideLine] = (),
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Backup:
    """Save ``originals`` (byte-exact, with their relative paths) and a manifest, fsynced.

    ``written`` maps each relative path the merge is about to write to its new bytes; undo uses
    their sha256 to notice that a session was continued after the merge. ``created_files`` are
    paths the merge creates that did not exist before, which undo removes again.
    ``written_sha256`` gives those digests when the caller has them (then ``written`` is
    not hashed again).
    """
    digests = dict(written_sha256 or {})
    digests.update(
        {rel: sha256_hex(data) for rel, data in (written or {}).items() if rel not in digests}
    )
    moment = now if now is not None else datetime.now(UTC)
    folder = _building_dir(backups_root() / session_id)
    files: list[dict[str, Any]] = []
    for original in originals:
        relative = _safe_relative(original.relative)
        digest, _linked = store_file(
            folder / "files" / relative,
            original.data,
            digest=original.sha256 or None,
            source=original.source,
            identity=original.identity,
        )
        files.append(
            {
                "relative": relative,
                "sha256": digest,
                "size": len(original.data),
                "mode": original.mode,
            }
        )
    extra_records: list[dict[str, Any]] = []
    for index, (source, data) in enumerate(extras, start=1):
        name = f"{index}-{source.name}"
        digest, _linked = store_file(folder / "with" / name, data)
        extra_records.append({"source": str(source), "stored": f"with/{name}", "sha256": digest})
    lines = b"".join(
        json.dumps(_set_aside_record(line), sort_keys=True).encode() + b"\n" for line in set_aside
    )
    _write_private(folder / "set_aside.jsonl", lines)
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "session_id": session_id,
        "project_dir": str(project_dir),
        "created": moment.astimezone(UTC).isoformat(),
        "files": files,
        "extras": extra_records,
        "written": dict(sorted(digests.items())),
        "created_files": sorted(created_files),
        "set_aside_count": len(set_aside),
        "details": dict(details or {}),
    }
    for sub in ("files", "with"):
        for root, _dirs, _names in os.walk(folder / sub):
            fsync_dir(Path(root))
    text = json.dumps(manifest, indent=2, sort_keys=True)
    _write_private(folder / "manifest.json", text.encode())
    fsync_dir(folder)
    published = _publish(folder, moment)
    fsync_dir(published.parent)
    return load_backup(published)


def load_backup(folder: Path) -> Backup:
    """Read a backup back from its manifest."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"{folder} is not a complete roam backup ({exc.__class__.__name__}).",
            hint="Pick another backup from `roam conflicts undo --help`.",
        ) from None
    files = tuple(
        BackedUpFile(
            relative=_safe_relative(str(item["relative"])),
            sha256=str(item["sha256"]),
            size=int(item["size"]),
            mode=stat.S_IMODE(int(item.get("mode", FILE_MODE))),
        )
        for item in manifest.get("files", [])
    )
    return Backup(
        session_id=str(manifest["session_id"]),
        path=folder,
        created=str(manifest["created"]),
        project_dir=Path(manifest["project_dir"]),
        files=files,
        written={_safe_relative(k): str(v) for k, v in manifest.get("written", {}).items()},
        created_files=tuple(_safe_relative(str(p)) for p in manifest.get("created_files", [])),
        manifest=manifest,
    )


def list_backups(session_id: str) -> tuple[Backup, ...]:
    """Complete backups of a session, oldest first."""
    session_dir = backups_root() / session_id
    if not session_dir.is_dir():
        return ()
    return tuple(
        load_backup(folder)
        for folder in sorted(session_dir.iterdir())
        if not folder.name.startswith(TEMP_PREFIX) and (folder / "manifest.json").is_file()
    )


def backed_up_sessions() -> tuple[str, ...]:
    """Ids of sessions that have at least one complete backup, sorted."""
    return tuple(
        sorted(
            folder.name
            for folder in backups_root().iterdir()
            if folder.name != OBJECTS and list_backups(folder.name)
        )
    )


def latest_backup(session_id: str) -> Backup:
    """The backup of the newest merge of a session; SessionNotFound if none or already undone."""
    found = [backup for backup in list_backups(session_id) if backup.kind == "merge"]
    if not found:
        raise SessionNotFound(
            f"There is no roam backup of session {session_id}.",
            hint="Only sessions merged by `roam conflicts merge` can be undone.",
        )
    if found[-1].undone:
        raise SessionNotFound(
            f"The last merge of session {session_id} was already undone.",
            hint=f"Its backup stays in {found[-1].path} if you need a file from it.",
        )
    if found[-1].pruned:
        raise SessionNotFound(
            f"The originals of the last merge of session {session_id} were pruned by the "
            "backup bound.",
            hint=f"Lines the merge set aside stay in {found[-1].path}/set_aside.jsonl.",
        )
    return found[-1]


def discard_backup(backup: Backup) -> None:
    """Remove ``backup`` whole: first renamed into a temp-named folder, so that no half of it
    ever looks like a complete backup (a kill in between leaves a temp the next backup of the
    session sweeps). Objects only it linked to become garbage for ``backup_bound``."""
    doomed = Path(tempfile.mkdtemp(prefix=temp_prefix(), dir=backup.path.parent))
    backup.path.rename(doomed / "backup")
    fsync_dir(backup.path.parent)
    shutil.rmtree(doomed)


def mark_undone(backup: Backup, when: str) -> None:
    """Record that ``backup`` was restored, so a second undo cannot restore it twice."""
    _write_private(backup.path / _UNDONE, (when + "\n").encode())


def restore_file(target: Path, data: bytes, mode: int) -> None:
    """Put ``data`` back at ``target`` atomically with its recorded mode."""
    make_private_dirs(target.parent)
    atomic_write(target, data, mode=mode)
