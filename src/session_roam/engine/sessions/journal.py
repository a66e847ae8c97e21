"""This node's own copy of every session line it wrote, kept outside the synced folder.

Syncthing can lose a version outright (three writers apart: "already a conflict copy; not copying
again"), and a bad merge or a stale peer can overwrite a file. The journal is the node's
independent memory of its own turns: ``$XDG_STATE_HOME/session-roam/journal/<session-id>.jsonl``
(0600) holds, verbatim, the lines appended to the session while this node was its writer.

Recording works by checkpoints. At launch (``roam cr``, or the SessionStart hook for a plain
``claude``) the journal notes where the file ends; at release it appends every complete line
written after that point. A launch that finds the previous one never released (claude or roam
was killed) first journals what that run wrote. When the file no longer extends the checkpoint
(a merge rewrote it, re-parenting rows), offsets mean nothing, so rows are compared by their
``uuid`` instead and only message rows are taken. Recording is idempotent: a row already in the
journal is never added twice, so ``roam cr`` and the hooks can both record one run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import atomic_write
from session_roam.engine.core.bounded import load_record
from session_roam.engine.core.paths import validate_session_id
from session_roam.engine.core.safefs import LinkRefused, read_bytes_nofollow
from session_roam.engine.core.store import read_settled

if TYPE_CHECKING:
    from collections.abc import Iterator

    from session_roam.merge import Version

__all__ = [
    "Journal",
    "JournalStatus",
    "Phase",
    "RecordResult",
    "record_uuids",
]

Phase = Literal["launch", "release"]

_FILE_MODE: Final = 0o600
_DIR_MODE: Final = 0o700


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What one ``record`` call did: lines added, and whether the file had been rewritten."""

    appended: int
    rewritten: bool
    recovered: bool  # a previous launch was never released; its lines were journaled now


@dataclass(frozen=True, slots=True)
class JournalStatus:
    """One session's journal as ``roam journal status`` shows it."""

    session_id: str
    journal_path: Path
    session_path: Path | None
    records: int
    missing: int
    open: bool


@dataclass(frozen=True, slots=True)
class _Checkpoint:
    session_path: str
    offset: int
    tail_sha256: str
    uuids: tuple[str, ...]
    open: bool


def _parent_uuid(line: bytes) -> str | None:
    row = load_record(line)  # bounded: None for torn, too long or too deep lines
    value = row.get("parentUuid") if isinstance(row, dict) else None
    return value if isinstance(value, str) and value else None


def _through_row(data: bytes, uuid: str | None) -> bytes:
    """``data`` cut just after the line of the row ``uuid``; all of it when that row is absent.

    The journal's lost rows hang off a row the synced file still has. Laying them right after
    that row, not after the file's newest row, makes them a branch the merge sees as this
    node's own continuation, so it re-parents them into the one timeline like any other
    machine's turn (appended at the end they would fork off an earlier row and hide every turn
    written after it from the resumed chain).
    """
    if uuid is None:
        return data
    needle = uuid.encode()
    end = 0
    for line in data.splitlines(keepends=True):
        end += len(line)
        if needle in line and _row_uuid(line) == uuid:
            return data[:end]
    return data


def _row_uuid(line: bytes) -> str | None:
    if b'"uuid"' not in line:
        return None
    row = load_record(line)
    if isinstance(row, dict):
        value = row.get("uuid")
        if isinstance(value, str) and value:
            return value
    return None


def record_uuids(data: bytes) -> set[str]:
    """The ``uuid`` of every parseable message row in ``data``."""
    return {uuid for line in data.splitlines() if (uuid := _row_uuid(line)) is not None}


def _session_bytes(path: Path) -> bytes:
    """The synced file's bytes, once a Syncthing swap is done; empty if missing or a link."""
    with suppress(FileNotFoundError, LinkRefused):
        return read_settled(read_bytes_nofollow, path)
    return b""


def _complete_end(data: bytes) -> int:
    """Offset just past the last complete line; a torn tail is not ours to journal yet."""
    return data.rfind(b"\n") + 1


def _tail_hash(data: bytes, end: int) -> str:
    start = data.rfind(b"\n", 0, max(end - 1, 0)) + 1
    return hashlib.sha256(data[start:end]).hexdigest()


def _uuids_through(data: bytes, end: int, old: _Checkpoint | None) -> set[str]:
    """``record_uuids(data[:end])``, parsing only the rows past ``old`` if the file extends it."""
    if old is None or old.offset > end or _tail_hash(data, old.offset) != old.tail_sha256:
        return record_uuids(data[:end])
    return {*old.uuids, *record_uuids(data[old.offset : end])}


class Journal:
    """The journal folder of this node. ``root`` defaults to the XDG state folder."""

    def __init__(self, root: Path | None = None, *, node: str | None = None) -> None:
        self.root = root if root is not None else xdg.state_dir() / "journal"
        self.node = node if node is not None else socket.gethostname()

    # -- paths -----------------------------------------------------------------------------
    def path_for(self, session_id: str) -> Path:
        """The journal file of one session (it may not exist yet)."""
        return self.root / f"{validate_session_id(session_id)}.jsonl"

    def _state_path(self, session_id: str) -> Path:
        return self.root / f"{validate_session_id(session_id)}.state.json"

    def _ensure_root(self) -> None:
        self.root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        self.root.chmod(_DIR_MODE)

    @contextmanager
    def _locked(self, session_id: str) -> Iterator[None]:
        """Serialise roam cr and the hooks, which may record the same run at the same time."""
        self._ensure_root()
        lock_path = self.root / f"{validate_session_id(session_id)}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the flock

    # -- state -----------------------------------------------------------------------------
    def _load(self, session_id: str) -> _Checkpoint | None:
        try:
            raw = json.loads(self._state_path(session_id).read_text(encoding="utf-8"))
            return _Checkpoint(
                session_path=str(raw["session_path"]),
                offset=int(raw["offset"]),
                tail_sha256=str(raw["tail_sha256"]),
                uuids=tuple(str(u) for u in raw["uuids"]),
                open=bool(raw["open"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no checkpoint (or a damaged one): start afresh from "now"

    def _save(self, session_id: str, checkpoint: _Checkpoint) -> None:
        document = {
            "session_path": checkpoint.session_path,
            "offset": checkpoint.offset,
            "tail_sha256": checkpoint.tail_sha256,
            "uuids": list(checkpoint.uuids),
            "open": checkpoint.open,
            "node": self.node,
        }
        atomic_write(
            self._state_path(session_id),
            json.dumps(document, indent=1).encode("utf-8"),
            mode=_FILE_MODE,
        )

    def _journal_bytes(self, session_id: str) -> bytes:
        try:
            return self.path_for(session_id).read_bytes()
        except FileNotFoundError:
            return b""

    def _append(self, session_id: str, lines: list[bytes]) -> None:
        path = self.path_for(session_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _FILE_MODE)
        try:
            if lines:
                os.write(fd, b"".join(line + b"\n" for line in lines))
                os.fsync(fd)
        finally:
            os.close(fd)

    # -- recording -------------------------------------------------------------------------
    def _new_lines(
        self, data: bytes, end: int, checkpoint: _Checkpoint
    ) -> tuple[list[bytes], bool]:
        """Lines written after the checkpoint, and whether the file had been rewritten."""
        appended_only = (
            checkpoint.offset <= end
            and _tail_hash(data, checkpoint.offset) == checkpoint.tail_sha256
        )
        if appended_only:
            return [line for line in data[checkpoint.offset : end].splitlines() if line], False
        known = set(checkpoint.uuids)
        fresh: list[bytes] = []
        for line in data[:end].splitlines():
            uuid = _row_uuid(line)
            if uuid is not None and uuid not in known:
                fresh.append(line)
        return fresh, True

    def record(
        self, session_path: Path, phase: Phase, *, session_id: str | None = None
    ) -> RecordResult:
        """Journal what this node wrote since the last checkpoint, then set a new checkpoint.

        ``phase`` is ``"launch"`` (a writer is about to start) or ``"release"`` (it has stopped).
        Lines are only taken after a checkpoint this node set, so rows synced in from peers are
        never mistaken for ours. A session file that does not exist yet records nothing.
        """
        sid = validate_session_id(session_id or session_path.stem)
        with self._locked(sid):
            data = _session_bytes(session_path)
            end = _complete_end(data)
            checkpoint = self._load(sid)
            lines: list[bytes] = []
            rewritten = recovered = False
            catch_up = checkpoint is not None and (phase == "release" or checkpoint.open)
            if checkpoint is not None and catch_up:
                lines, rewritten = self._new_lines(data, end, checkpoint)
                recovered = phase == "launch"
            kept: list[bytes] = []
            already = record_uuids(self._journal_bytes(sid)) if lines else set()
            for line in lines:
                uuid = _row_uuid(line)
                if uuid is None or uuid not in already:
                    kept.append(line)
                    if uuid is not None:
                        already.add(uuid)
            self._append(sid, kept)
            self._save(
                sid,
                _Checkpoint(
                    session_path=str(session_path),
                    offset=end,
                    tail_sha256=_tail_hash(data, end),
                    uuids=tuple(sorted(_uuids_through(data, end, checkpoint))),
                    open=phase == "launch",
                ),
            )
            return RecordResult(appended=len(kept), rewritten=rewritten, recovered=recovered)

    # -- reading ---------------------------------------------------------------------------
    def records(self, session_id: str) -> list[bytes]:
        """Every line journaled for the session, oldest first."""
        return [line for line in self._journal_bytes(session_id).splitlines() if line]

    def missing_records(self, session_path: Path, *, session_id: str | None = None) -> list[bytes]:
        """Message rows this node wrote that the synced file no longer contains.

        Compared by ``uuid``, because a merge may legitimately rewrite a row's parent. Metadata
        rows (no uuid) are not reported: the merge regenerates them.
        """
        sid = validate_session_id(session_id or session_path.stem)
        present = record_uuids(_session_bytes(session_path))
        return [
            line
            for line in self.records(sid)
            if (uuid := _row_uuid(line)) is not None and uuid not in present
        ]

    def status(self, session_id: str, session_path: Path | None = None) -> JournalStatus:
        """How much is journaled for a session and how much of it the synced file lacks."""
        sid = validate_session_id(session_id)
        checkpoint = self._load(sid)
        if session_path is None and checkpoint is not None:
            session_path = Path(checkpoint.session_path)
        missing = len(self.missing_records(session_path, session_id=sid)) if session_path else 0
        return JournalStatus(
            session_id=sid,
            journal_path=self.path_for(sid),
            session_path=session_path,
            records=len(self.records(sid)),
            missing=missing,
            open=checkpoint.open if checkpoint is not None else False,
        )

    def session_ids(self) -> list[str]:
        """Every session this node has a journal for, sorted."""
        if not self.root.is_dir():
            return []
        names = (path.name.removesuffix(".jsonl") for path in self.root.glob("*.jsonl"))
        return sorted(name for name in names if "." not in name)

    def note(self, session_id: str, event: str, **details: object) -> None:
        """Log what roam did with the session (launch, release, forced, ...) beside the journal.

        Kept apart from the journal itself, which holds only session lines and is merged back
        as a version of the session.
        """
        sid = validate_session_id(session_id)
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "node": self.node,
            "pid": os.getpid(),
            "event": event,
            **details,
        }
        with self._locked(sid):
            path = self.root / f"{sid}.events.jsonl"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _FILE_MODE)
            try:
                os.write(fd, (json.dumps(entry, sort_keys=True, default=str) + "\n").encode())
            finally:
                os.close(fd)

    def events(self, session_id: str) -> list[dict[str, object]]:
        """The notes written by ``note``, oldest first (unreadable lines skipped)."""
        path = self.root / f"{validate_session_id(session_id)}.events.jsonl"
        try:
            lines = path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        found: list[dict[str, object]] = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                found.append(entry)
        return found

    def as_version(self, session_id: str, *, session_path: Path | None = None) -> Version:
        """The session as this node knows it: the synced file up to the row the lost rows hang
        off, then every journaled row the file lacks.

        A whole file rather than the journal alone, so the merge sees each journaled row with
        its ancestors; merged with the synced file (``roam journal restore``, or ``roam
        conflicts merge --with``) it puts back exactly the rows that were lost.
        """
        from session_roam.merge import Version  # only restores need the merge engine

        sid = validate_session_id(session_id)
        if session_path is None:
            checkpoint = self._load(sid)
            session_path = Path(checkpoint.session_path) if checkpoint is not None else None
        base = b""
        if session_path is not None:
            base = _session_bytes(session_path)
        base = base[: _complete_end(base)]
        present = record_uuids(base)
        extra = [
            line
            for line in self.records(sid)
            if (uuid := _row_uuid(line)) is not None and uuid not in present
        ]
        if extra:
            base = _through_row(base, _parent_uuid(extra[0]))
        data = base + b"".join(line + b"\n" for line in extra)
        return Version(label=f"journal of {self.node}", data=data)

    def as_bytes(self, session_id: str) -> bytes:
        """The journal as one JSONL document, for merging back as an extra version."""
        return self._journal_bytes(session_id)
