"""The bound on the backup store: how much it holds, what is beyond the bound, and pruning it.

Backups would otherwise grow for ever (issue 13: every merge kept a full copy). The bound has
three numbers, set under ``[backups]`` in roam's ``config.toml``:

``keep_days`` (14)
    A backup younger than this is never pruned, whatever the size: two weeks to notice a bad
    merge and run ``roam conflicts undo``, a holiday included.
``max_days`` (90)
    A merge's backup older than this is pruned whatever the size.
``max_mb`` (2048)
    Between the two, the oldest merge backups are pruned first while the store is larger.
    Sessions are 1-10 MB, so this is hundreds of merges; a store held over it only by young
    backups is reported by ``roam verify`` (a warning), never pruned early.

Only a merge's originals are pruned. By the merge's own law every record of every version is
in the merged file, so they are needed only to undo the merge; lines the merge set aside exist
nowhere else, so a pruned backup that has some keeps its manifest and ``set_aside.jsonl`` (and
gets a ``pruned`` mark). Every other kind of backup (what a forced undo replaced, or any kind
another command stores) is kept until the user removes it. Sizes are what the files take on
disk, each stored object counted once however many backups link to it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import atomic_write
from session_roam.engine.core.backup import Backup, discard_backup, list_backups
from session_roam.engine.core.backup_store import adopt_into_store, backups_root, objects_root
from session_roam.engine.core.roamconfig import read_roam_config
from session_roam.engine.core.temps import sweep_dead_temps
from session_roam.errors import InvalidInput, RoamError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "BackupBound",
    "BackupUsage",
    "backups_report",
    "config_path",
    "load_bound",
    "measure",
    "prune",
    "prune_quietly",
]

_log = logging.getLogger(__name__)

_CONFIG_NAME: Final = "config.toml"
_DAY_S: Final = 86400.0
_MIB: Final = 1024 * 1024
_PRUNED: Final = "pruned"


@dataclass(frozen=True, slots=True)
class BackupBound:
    """How long and how much the backup store keeps (see the module docstring)."""

    keep_days: float = 14.0
    max_days: float = 90.0
    max_mb: float = 2048.0

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * _MIB)

    def to_dict(self) -> dict[str, float]:
        return {"keep_days": self.keep_days, "max_days": self.max_days, "max_mb": self.max_mb}


@dataclass(frozen=True, slots=True)
class _Entry:
    backup: Backup
    age_days: float
    inodes: frozenset[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class BackupUsage:
    """The store against its bound; ``beyond`` is what ``prune`` removes (or removed)."""

    bound: BackupBound
    total_bytes: int
    backups: int
    oldest_days: float | None
    beyond: tuple[Path, ...]
    beyond_bytes: int
    kept_bytes: int  # what is left once ``beyond`` is gone
    pruned: bool = False
    seconds: float = 0.0

    @property
    def over_size(self) -> bool:
        """Still larger than ``max_mb`` with everything beyond the bound pruned."""
        return self.kept_bytes > self.bound.max_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "bound": self.bound.to_dict(),
            "total_bytes": self.total_bytes,
            "backups": self.backups,
            "oldest_days": self.oldest_days,
            "beyond_bound": [str(p) for p in self.beyond],
            "beyond_bytes": self.beyond_bytes,
            "kept_bytes": self.kept_bytes,
            "over_size": self.over_size,
            "pruned": self.pruned,
            "seconds": round(self.seconds, 4),
        }


def config_path(config_dir: Path | None = None) -> Path:
    """roam's config.toml, where ``[backups]`` sets the bound."""
    return (config_dir if config_dir is not None else xdg.config_dir()) / _CONFIG_NAME


def _checked(values: dict[str, Any], where: str) -> BackupBound:
    """A bound from ``values`` (missing keys take the defaults), or InvalidInput naming the fix."""
    default = BackupBound()
    numbers: dict[str, float] = {}
    for key in ("keep_days", "max_days", "max_mb"):
        value = values.get(key)
        if value is None:
            numbers[key] = getattr(default, key)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            unit = "megabytes" if key == "max_mb" else "days"
            raise InvalidInput(
                f"The backup bound {key} must be a number of {unit} (0 or more), not {value!r}.",
                hint=f"Fix {key} {where}.",
            )
        numbers[key] = float(value)
    bound = BackupBound(**numbers)
    if bound.max_days < bound.keep_days:
        raise InvalidInput(
            f"The backup bound max_days ({bound.max_days:g}) is below keep_days "
            f"({bound.keep_days:g}).",
            hint=f"Make max_days at least keep_days {where}.",
        )
    return bound


def load_bound(config_dir: Path | None = None) -> BackupBound:
    """The bound from ``[backups]`` in config.toml, the defaults for what it does not set."""
    path = config_path(config_dir)
    data = read_roam_config(path)
    table = data.get("backups", {})
    if not isinstance(table, dict):
        raise InvalidInput(
            f"backups in {path} is not a table.", hint=f"Write it as a [backups] table in {path}."
        )
    return _checked(table, f"under [backups] in {path}")


def backups_report(
    *,
    prune_now: bool = False,
    keep_days: float | None = None,
    max_days: float | None = None,
    max_mb: float | None = None,
) -> BackupUsage:
    """``roam backups``: the store against the configured bound (each given value overrides
    it for this run), pruned first when ``prune_now``."""
    configured = load_bound().to_dict()
    given = {"keep_days": keep_days, "max_days": max_days, "max_mb": max_mb}
    bound = _checked(
        configured | {k: v for k, v in given.items() if v is not None}, "on the command line"
    )
    return prune(bound) if prune_now else measure(bound)


def _files_of(folder: Path) -> Iterable[os.stat_result]:
    for root, _dirs, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(root, name))
                if stat.S_ISREG(info.st_mode):
                    yield info


def _disk_bytes(info: os.stat_result) -> int:
    return int(info.st_blocks) * 512


def _sessions() -> list[str]:
    root = backups_root()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p != objects_root())


def _age_days(created: str, now: datetime) -> float:
    """Days since ``created``; 0 (young: never pruned) when the manifest's time is unreadable."""
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (now - moment).total_seconds() / _DAY_S


def _entries(now: datetime) -> tuple[list[_Entry], dict[tuple[int, int], int], int]:
    """Every complete backup with the inodes it holds, the size of every inode stored, and the
    bytes of objects no backup links to (a killed merge's: garbage the next prune collects)."""
    sizes: dict[tuple[int, int], int] = {}
    for info in _files_of(backups_root()):
        sizes[(info.st_dev, info.st_ino)] = _disk_bytes(info)
    orphans = sum(_disk_bytes(info) for info in _files_of(objects_root()) if info.st_nlink == 1)
    entries: list[_Entry] = []
    for session in _sessions():
        with contextlib.suppress(RoamError, OSError):
            for backup in list_backups(session):
                inodes = frozenset((i.st_dev, i.st_ino) for i in _files_of(backup.path))
                entries.append(_Entry(backup, _age_days(backup.created, now), inodes))
    entries.sort(key=lambda e: (-e.age_days, str(e.backup.path)))
    return entries, sizes, orphans


def _choose(
    entries: Sequence[_Entry], sizes: dict[tuple[int, int], int], freed: int, bound: BackupBound
) -> tuple[list[_Entry], int]:
    """Oldest first: what is beyond the bound, and the bytes removing it frees."""
    holders: dict[tuple[int, int], int] = {}
    for entry in entries:
        for inode in entry.inodes:
            holders[inode] = holders.get(inode, 0) + 1
    total = sum(sizes.values())
    chosen: list[_Entry] = []
    for entry in entries:  # oldest first
        if entry.backup.kind != "merge" or entry.backup.pruned:
            continue
        if entry.age_days < bound.keep_days:
            break
        if entry.age_days <= bound.max_days and total - freed <= bound.max_bytes:
            break
        chosen.append(entry)
        for inode in entry.inodes:
            holders[inode] -= 1
            if holders[inode] == 0:
                freed += sizes.get(inode, 0)
    return chosen, freed


def measure(bound: BackupBound | None = None, *, now: datetime | None = None) -> BackupUsage:
    """The store's size and what is beyond ``bound`` (default: ``load_bound()``); no change."""
    return _run(bound, now, apply=False)


def prune(bound: BackupBound | None = None, *, now: datetime | None = None) -> BackupUsage:
    """Remove what is beyond ``bound``, oldest first, and objects no backup links to any more.

    Each removal is crash-safe: a backup is renamed to a temp name before it is deleted (a kill
    leaves a dead temp the next sweep removes, never a backup that looks whole but is not), and
    one that keeps set-aside lines is marked ``pruned`` before its files go.
    """
    return _run(bound, now, apply=True)


def prune_quietly() -> BackupUsage | None:
    """``prune`` after a merge: a failure is logged, never raised (the merge is done)."""
    try:
        return prune()
    except (RoamError, OSError) as exc:
        _log.warning("backups were not pruned: %s", exc)
        return None


def _run(bound: BackupBound | None, now: datetime | None, *, apply: bool) -> BackupUsage:
    started = time.monotonic()
    limits = bound if bound is not None else load_bound()
    moment = now if now is not None else datetime.now(UTC)
    if apply:
        for session in _sessions():
            sweep_dead_temps(backups_root() / session)
        _adopt_older_backups()
    entries, sizes, orphans = _entries(moment)
    chosen, freed = _choose(entries, sizes, orphans, limits)
    total = sum(sizes.values())
    if apply:
        for entry in chosen:
            _remove(entry.backup, moment)
        _collect_garbage()
    usage = BackupUsage(
        bound=limits,
        total_bytes=total,
        backups=len(entries),
        oldest_days=round(entries[0].age_days, 2) if entries else None,
        beyond=tuple(e.backup.path for e in chosen),
        beyond_bytes=freed,
        kept_bytes=total - freed,
        pruned=apply,
    )
    return replace(usage, seconds=time.monotonic() - started)


def _remove(backup: Backup, now: datetime) -> None:
    if int(backup.manifest.get("set_aside_count", 0)) > 0:
        atomic_write(backup.path / _PRUNED, (now.isoformat() + "\n").encode(), mode=0o600)
        for sub in ("files", "with"):
            shutil.rmtree(backup.path / sub, ignore_errors=True)
        return
    discard_backup(backup)


def _adopt_older_backups() -> None:
    """Store the files of backups made before the content-addressed store once (migration):
    a plain file (link count 1) becomes a link to its object. Cheap once done: an adopted file
    has two links and is not read again."""
    for session in _sessions():
        with contextlib.suppress(RoamError, OSError):
            for backup in list_backups(session):
                for sub in ("files", "with"):
                    for root, _dirs, names in os.walk(backup.path / sub):
                        for name in names:
                            path = Path(root, name)
                            info = path.lstat()
                            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                                adopt_into_store(path)


def _collect_garbage() -> None:
    """Remove stored objects no backup links to (a pruned backup's, a killed merge's)."""
    for info_path in objects_root().glob("??/*"):
        with contextlib.suppress(OSError):
            info = info_path.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and len(info_path.name) == 64:
                info_path.unlink()
