"""What a merge of one session's conflict copies would do, worked out without writing anything.

Files are grouped by the file each conflict copy belongs to (its name with every
``.sync-conflict-…`` marker removed):

* the session transcript ``<id>.jsonl`` and every ``.jsonl`` inside ``<id>/`` (subagent
  transcripts, each a session of its own) are merged with ``session_roam.merge.merge_versions``;
* any other file (``custom-title.json``, ``agent-*.meta.json``, tool results) cannot be merged
  line by line. The file under the plain name stays as it is (Syncthing's winner); when it is
  missing, the newest copy takes its place. Every other *different* content is kept next to it
  as ``<stem>.roam-kept-<sha8><ext>``, visible and synced but ignored by Claude Code. Identical
  copies are simply removed. Either way the originals are in the backup.

Planning reads every version once; the bytes read are the bytes merged and backed up.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, Literal

from session_roam.engine.conflicts.forks import file_has_fork
from session_roam.engine.core.backup import Original, sha256_hex
from session_roam.engine.core.backup_store import file_identity
from session_roam.engine.core.safefs import refuse_links
from session_roam.engine.core.store import ConflictCopy, SessionFiles, read_bytes
from session_roam.merge import MergeOutcome, Version, merge_versions

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

__all__ = [
    "KEPT_MARKER",
    "FileKind",
    "FilePlan",
    "SessionPlan",
    "VersionInfo",
    "kept_name",
    "line_count",
    "plan_session",
    "replaced_files",
    "written_digests",
    "written_files",
]

#: Inserted before the extension of a losing non-session file that roam keeps beside the winner.
KEPT_MARKER: Final = ".roam-kept-"

FileKind = Literal["session", "subagent", "other"]
FileAction = Literal["merge", "keep-both", "drop-duplicates"]


def line_count(data: bytes) -> int:
    """Lines as an editor counts them: a torn last line without newline still counts."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def kept_name(original: Path, data: bytes) -> Path:
    """``custom-title.json`` -> ``custom-title.roam-kept-1a2b3c4d.json`` (content-addressed)."""
    short = sha256_hex(data)[:8]
    return original.with_name(f"{original.stem}{KEPT_MARKER}{short}{original.suffix}")


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One input of a file's merge: where it came from and how big it is."""

    label: str
    path: Path
    size: int
    lines: int
    sha256: str
    mtime: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "path": str(self.path),
            "size": self.size,
            "lines": self.lines,
            "sha256": self.sha256,
            "mtime": self.mtime,
        }


@dataclass(frozen=True, slots=True)
class FilePlan:
    """What happens to one file and its conflict copies.

    ``result`` is the new content of the file under its plain name, or ``None`` when it stays as
    it is. ``kept`` are extra files to create (relative path, bytes). ``removes`` are the
    conflict copies (relative paths) deleted once the backup is safe.
    """

    relative: str
    kind: FileKind
    action: FileAction
    main_existed: bool
    versions: tuple[VersionInfo, ...]
    outcome: MergeOutcome | None
    result: bytes | None
    kept: tuple[tuple[str, bytes], ...]
    removes: tuple[tuple[str, str], ...]  # (relative path, sha256 that was read)
    result_sha256: str = ""  # of ``result``, computed once when it was planned

    def to_dict(self) -> dict[str, Any]:
        outcome = self.outcome
        return {
            "file": self.relative,
            "kind": self.kind,
            "action": self.action,
            "main_existed": self.main_existed,
            "versions": [v.to_dict() for v in self.versions],
            "result": None
            if self.result is None
            else {
                "size": len(self.result),
                "lines": line_count(self.result),
                "sha256": self.result_sha256 or sha256_hex(self.result),
            },
            "changed": self.result is not None,
            "merge": None if outcome is None else outcome.report.to_dict(),
            "summary": None if outcome is None else outcome.report.summary(),
            "set_aside": []
            if outcome is None
            else [
                {"label": s.label, "line_number": s.line_number, "reason": s.reason}
                for s in outcome.set_aside
            ],
            "kept": [relative for relative, _ in self.kept],
            "removes": [relative for relative, _ in self.removes],
        }


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """The whole merge of one session: per-file plans plus every byte that was read."""

    session: SessionFiles
    files: tuple[FilePlan, ...]
    originals: tuple[Original, ...]
    extras: tuple[tuple[Path, bytes], ...] = field(default=())

    @property
    def has_work(self) -> bool:
        return bool(self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session.session_id,
            "project_dir": str(self.session.project_dir),
            "main_exists": self.session.main_exists,
            "conflict_copies": len(self.session.conflict_copies),
            "extras": [str(path) for path, _ in self.extras],
            "files": [plan.to_dict() for plan in self.files],
        }


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o600


@dataclass(slots=True)
class _Reader:
    """Reads each path once and remembers the bytes for the backup.

    Each version's sha256 is computed on a second thread while the merge parses (hashlib lets
    go of the GIL on large buffers), and filled in by ``resolve`` once the merges are done.
    """

    project_dir: Path
    pool: ThreadPoolExecutor
    originals: dict[str, Original] = field(default_factory=dict)
    digests: dict[str, Future[str]] = field(default_factory=dict)

    def relative(self, path: Path) -> str:
        return os.path.relpath(path, self.project_dir)

    def read(self, path: Path) -> tuple[bytes, VersionInfo]:
        relative = self.relative(path)
        mode, mtime = _mode(path), _mtime(path)
        before = file_identity(path)
        data = read_bytes(path)
        # The bytes belong to that file only if nothing changed it while it was read.
        same = before is not None and before[2] == len(data) and file_identity(path) == before
        self.digests[relative] = self.pool.submit(sha256_hex, data)
        info = VersionInfo(relative, path, len(data), line_count(data), "", mtime)
        identity = before if same else None
        self.originals[relative] = Original(relative, data, mode, "", path, identity)
        return data, info

    def resolve(self, plan: FilePlan) -> FilePlan:
        """``plan`` with the digests of the versions it read and of the copies it removes."""
        versions = tuple(
            replace(v, sha256=self.digests[v.label].result()) if not v.sha256 else v
            for v in plan.versions
        )
        removes = tuple((rel, self.digests[rel].result()) for rel, _ in plan.removes)
        return replace(plan, versions=versions, removes=removes)

    def resolved_originals(self) -> tuple[Original, ...]:
        return tuple(
            replace(o, sha256=self.digests[o.relative].result()) for o in self.originals.values()
        )


def _info(label: str, path: Path, data: bytes, mtime: float | None) -> VersionInfo:
    return VersionInfo(label, path, len(data), line_count(data), sha256_hex(data), mtime)


def replaced_files(plans: Sequence[FilePlan]) -> set[str]:
    """Files (relative) a merge replaces by a rename or removes: the ones its backup holds.

    A file it leaves as it is (the transcript a stale copy was a prefix of) loses nothing, so
    it is not copied into the backup, and undo leaves it alone too (it may have grown since).
    """
    replaced = {rel for plan in plans for rel, _ in plan.removes}
    return replaced | {plan.relative for plan in plans if plan.result is not None}


def _kind(original: Path, session: SessionFiles) -> FileKind:
    if original == session.main:
        return "session"
    return "subagent" if original.suffix == ".jsonl" else "other"


def _plan_jsonl(
    kind: FileKind,
    relative: str,
    main: tuple[bytes, VersionInfo] | None,
    copies: Sequence[tuple[bytes, VersionInfo]],
    extras: Sequence[tuple[bytes, VersionInfo]],
    removes: tuple[tuple[str, str], ...],
) -> FilePlan:
    inputs = ([main] if main else []) + list(copies) + list(extras)
    outcome = merge_versions([Version(info.label, data) for data, info in inputs])
    unchanged = main is not None and outcome.data == main[0]
    return FilePlan(
        result_sha256="" if unchanged else sha256_hex(outcome.data),
        relative=relative,
        kind=kind,
        action="merge",
        main_existed=main is not None,
        versions=tuple(info for _, info in inputs),
        outcome=outcome,
        result=None if unchanged else outcome.data,
        kept=(),
        removes=removes,
    )


def _plan_other(
    original: Path,
    relative: str,
    main: tuple[bytes, VersionInfo] | None,
    copies: Sequence[tuple[bytes, VersionInfo]],
    removes: tuple[tuple[str, str], ...],
    relative_of: Callable[[Path], str],
) -> FilePlan:
    result: bytes | None = None
    winner = main
    if winner is None:
        # Syncthing's own rule: the newest version wins the plain name.
        winner = max(copies, key=lambda c: (c[1].mtime or 0.0, c[1].label))
        result = winner[0]
    seen = {sha256_hex(winner[0])}
    kept: list[tuple[str, bytes]] = []
    for data, _ in copies:
        digest = sha256_hex(data)
        if digest not in seen:
            seen.add(digest)
            kept.append((relative_of(kept_name(original, data)), data))
    return FilePlan(
        relative=relative,
        kind="other",
        action="keep-both" if kept else "drop-duplicates",
        main_existed=main is not None,
        versions=tuple(info for _, info in ([main] if main else []) + list(copies)),
        outcome=None,
        result=result,
        kept=tuple(kept),
        removes=removes,
    )


def plan_session(session: SessionFiles, extras: Sequence[Path] = ()) -> SessionPlan:
    """Read every version of every file of ``session`` and decide what a merge would write.

    ``extras`` are further versions of the main transcript (a backup, Syncthing's
    ``.stversions``, a copy from another machine); they are read, merged, and backed up, but
    never deleted. The transcript is also merged when it holds a fork between two writers
    (``engine/conflicts/forks.py``). Otherwise a session with no conflict copies and no extras
    yields an empty plan.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="roam-hash") as pool:
        return _plan(session, extras, _Reader(session.project_dir, pool))


def _plan(session: SessionFiles, extras: Sequence[Path], reader: _Reader) -> SessionPlan:
    groups: dict[Path, list[ConflictCopy]] = {}
    for copy in session.conflict_copies:
        groups.setdefault(copy.original, []).append(copy)
    # With copies of the transcript it is merged anyway (and its forks split by the merge):
    # only a transcript without copies is read once more, to look for a fork.
    has_fork = session.main not in groups and session.main_exists and file_has_fork(session.main)
    if extras or has_fork:
        groups.setdefault(session.main, [])
    extra_data: list[tuple[Path, bytes]] = []
    extra_versions: list[tuple[bytes, VersionInfo]] = []
    for path in extras:
        data = read_bytes(path)
        extra_data.append((path, data))
        extra_versions.append((data, _info(f"with:{path}", path, data, _mtime(path))))
    plans: list[FilePlan] = []
    for original in sorted(groups, key=lambda p: (p != session.main, str(p))):
        refuse_links(session.project_dir, original)  # never merged through a link (safefs)
        relative = reader.relative(original)
        main = reader.read(original) if original.exists() else None
        copies = [reader.read(copy.path) for copy in sorted(groups[original], key=lambda c: c.path)]
        removes = tuple((info.label, "") for _, info in copies)  # digests: ``resolve``
        kind = _kind(original, session)
        if kind == "other":
            plans.append(_plan_other(original, relative, main, copies, removes, reader.relative))
        else:
            more = extra_versions if kind == "session" else []
            plans.append(_plan_jsonl(kind, relative, main, copies, more, removes))
    files = tuple(reader.resolve(plan) for plan in plans)
    return SessionPlan(session, files, reader.resolved_originals(), tuple(extra_data))


def written_digests(plans: Sequence[FilePlan]) -> dict[str, str]:
    """The sha256 of every file a merge writes, computed once (at planning, for a transcript)."""
    digests = {rel: sha256_hex(data) for plan in plans for rel, data in plan.kept}
    digests.update({p.relative: p.result_sha256 for p in plans if p.result_sha256})
    return digests


def written_files(plans: Sequence[FilePlan]) -> Mapping[str, bytes]:
    """Every path a merge writes (relative) and its new bytes."""
    written: dict[str, bytes] = {}
    for plan in plans:
        if plan.result is not None:
            written[plan.relative] = plan.result
        written.update(dict(plan.kept))
    return written
