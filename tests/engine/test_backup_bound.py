"""The backup bound: young backups are kept, old or oversized merge backups go, oldest first."""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.core.backup import (
    Backup,
    Original,
    backups_root,
    create_backup,
    latest_backup,
    list_backups,
)
from session_roam.engine.core.backup_bound import BackupBound, load_bound, measure, prune
from session_roam.engine.core.backup_store import objects_root
from session_roam.engine.core.paths import claude_config_dir
from session_roam.engine.core.store import find_session_files
from session_roam.errors import InvalidInput, SessionNotFound
from tests.engine.sessiontree import SID, SID2, Tree
from tests.support.litter import dead_temp_name, legacy_backup

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
MB = 1024 * 1024
BOUND = BackupBound(keep_days=14, max_days=90, max_mb=2.5)


@dataclass(frozen=True, slots=True)
class _Line:
    label: str
    line_number: int
    raw: bytes
    reason: str


def _backup(days_ago: float, content: bytes, *, session: str = SID, **kwargs: object) -> Backup:
    return create_backup(
        session_id=session,
        project_dir=backups_root().parent,
        originals=[Original(f"{session}.jsonl", content)],
        now=NOW - timedelta(days=days_ago),
        **kwargs,  # type: ignore[arg-type]  # test helper forwards keyword arguments
    )


def _store_bytes() -> int:
    seen = {}
    for path in backups_root().rglob("*"):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            seen[(info.st_dev, info.st_ino)] = info.st_blocks * 512
    return sum(seen.values())


def test_without_config_the_bound_is_14_and_90_days_and_2048_mb(tmp_path: Path) -> None:
    assert load_bound(tmp_path) == BackupBound(14.0, 90.0, 2048.0)


def test_the_bound_is_read_from_the_backups_table_of_config_toml(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[backups]\nkeep_days = 3\nmax_mb = 512\n")
    assert load_bound(tmp_path) == BackupBound(3.0, 90.0, 512.0)


def test_a_bound_that_is_not_a_number_is_refused_with_the_line_to_fix(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[backups]\nmax_mb = "lots"\n')
    with pytest.raises(InvalidInput, match="max_mb") as caught:
        load_bound(tmp_path)
    assert caught.value.hint is not None
    assert "under [backups]" in caught.value.hint


def test_max_days_below_keep_days_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[backups]\nkeep_days = 30\nmax_days = 7\n")
    with pytest.raises(InvalidInput, match="below keep_days"):
        load_bound(tmp_path)


def test_young_backups_are_kept_even_over_the_size_bound() -> None:
    for n in range(3):
        _backup(1 + n, bytes([n]) * MB)
    usage = prune(BOUND, now=NOW)
    assert usage.beyond == ()
    assert usage.over_size
    assert len(list_backups(SID)) == 3


def test_a_merge_backup_older_than_max_days_is_pruned() -> None:
    old = _backup(91, b"old\n")
    young = _backup(1, b"young\n")
    assert prune(BOUND, now=NOW).beyond == (old.path,)
    assert [b.path for b in list_backups(SID)] == [young.path]


def test_over_the_size_bound_the_oldest_go_first_until_it_fits() -> None:
    backups = [_backup(days, bytes([days]) * MB) for days in (60, 40, 20)]
    usage = prune(BOUND, now=NOW)
    assert usage.beyond == (backups[0].path,)
    assert [b.path for b in list_backups(SID)] == [b.path for b in backups[1:]]


def test_pruning_frees_the_space_of_objects_no_backup_links_to() -> None:
    _backup(100, b"x" * MB)
    before = _store_bytes()
    usage = prune(BOUND, now=NOW)
    assert usage.beyond_bytes >= MB
    assert before - _store_bytes() >= MB
    assert list(objects_root().glob("??/*")) == []


def test_pruning_a_backup_whose_bytes_a_newer_one_holds_frees_nothing_and_loses_nothing() -> None:
    _backup(100, b"same\n" * 100_000)
    newer = _backup(1, b"same\n" * 100_000)
    assert prune(BOUND, now=NOW).beyond_bytes < 100_000  # its manifest, not the bytes
    assert newer.data_of(newer.files[0]) == b"same\n" * 100_000


def test_a_pruned_backup_with_set_aside_lines_keeps_them_and_is_marked() -> None:
    line = _Line("copy.jsonl", 3, b"{torn", "not JSON")
    old = _backup(100, b"old\n", set_aside=[line], details={"kind": "merge"})
    prune(BOUND, now=NOW)
    assert (old.path / "set_aside.jsonl").read_bytes().count(b"torn") == 1
    assert not (old.path / "files").exists()
    with pytest.raises(SessionNotFound, match="pruned"):
        latest_backup(SID)


def test_backups_other_than_a_merges_are_never_pruned() -> None:
    kept = _backup(365, b"new turns\n", details={"kind": "before-undo"})
    assert prune(BOUND, now=NOW).beyond == ()
    assert [b.path for b in list_backups(SID)] == [kept.path]


def test_measure_reports_without_removing_anything() -> None:
    old = _backup(100, b"old\n")
    usage = measure(BOUND, now=NOW)
    assert usage.beyond == (old.path,)
    assert not usage.pruned
    assert list_backups(SID)


def test_prune_removes_what_a_killed_prune_left() -> None:
    _backup(1, b"kept\n")
    half = backups_root() / SID / dead_temp_name("doomed")
    (half / "backup").mkdir(parents=True)
    prune(BOUND, now=NOW)
    assert not half.exists()


def test_sizes_count_each_stored_object_once() -> None:
    for days in (3, 2, 1):
        _backup(days, b"y" * MB, session=SID2)
    usage = measure(BOUND, now=NOW)
    assert MB <= usage.total_bytes < 1.2 * MB
    assert usage.backups == 3


def test_a_merge_prunes_backups_beyond_the_bound(clean_environ: Path) -> None:
    old = _backup(365, b"a year old\n")
    tree = Tree(claude_config_dir())
    tree.conflicted_session(SID)
    merge_session(find_session_files(tree.project(), SID))
    assert old.path not in [b.path for b in list_backups(SID)]
    assert len(list_backups(SID)) == 1


def test_prune_stores_older_backups_of_the_same_bytes_once() -> None:
    data = b"z" * MB
    for day in (1, 2, 3):
        legacy_backup(SID, f"2026120{day}T000000.000000Z", data, backups_root().parent)
    assert _store_bytes() >= 3 * MB
    prune(BOUND, now=NOW)
    assert _store_bytes() < 1.1 * MB
    assert [b.data_of(b.files[0]) for b in list_backups(SID)] == [data] * 3


def test_a_backup_whose_time_cannot_be_read_counts_as_young() -> None:
    folder = legacy_backup(SID, "20200101T000000.000000Z", b"old\n", backups_root().parent)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest | {"created": "yesterday"}))
    assert prune(BOUND, now=NOW).beyond == ()
    assert list_backups(SID)
