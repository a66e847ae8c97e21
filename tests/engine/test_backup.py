from __future__ import annotations

import base64
import hashlib
import json
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.conflicts.merging import undo_session
from session_roam.engine.core.backup import (
    Original,
    backed_up_sessions,
    backups_root,
    create_backup,
    latest_backup,
    list_backups,
    load_backup,
    mark_undone,
)
from session_roam.engine.core.backup_store import adopt_into_store, objects_root
from session_roam.engine.core.temps import TEMP_PREFIX
from session_roam.errors import InvalidInput, SessionNotFound
from tests.engine.sessiontree import SID, SID2
from tests.support.litter import dead_temp_name, legacy_backup

if TYPE_CHECKING:
    from pathlib import Path

WHEN = datetime(2026, 11, 25, 14, 0, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Line:
    label: str
    line_number: int
    raw: bytes
    reason: str


def _backup(tmp_path: Path, **kwargs: object) -> Path:
    originals = [
        Original(f"{SID}.jsonl", b"main\n"),
        Original(f"{SID}/subagents/agent-x.sync-conflict-20261125-131239-MRUWJBM.jsonl", b"\xff\n"),
    ]
    return create_backup(
        session_id=SID,
        project_dir=tmp_path / "projects" / "-p",
        originals=originals,
        now=WHEN,
        **kwargs,  # type: ignore[arg-type]  # test helper forwards keyword arguments
    ).path


def test_backup_lives_in_the_state_dir_under_session_and_utc_stamp(tmp_path: Path) -> None:
    folder = _backup(tmp_path)
    assert folder == backups_root() / SID / "20261125T140000.000000Z"


def test_backup_keeps_relative_paths_and_bytes(tmp_path: Path) -> None:
    folder = _backup(tmp_path)
    nested = folder / "files" / SID / "subagents"
    assert (folder / "files" / f"{SID}.jsonl").read_bytes() == b"main\n"
    assert [p.read_bytes() for p in nested.iterdir()] == [b"\xff\n"]


def test_backup_files_and_folders_are_private(tmp_path: Path) -> None:
    folder = _backup(tmp_path)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")}
    assert modes <= {0o600, 0o700}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_manifest_records_sha256_of_each_file(tmp_path: Path) -> None:
    manifest = json.loads((_backup(tmp_path) / "manifest.json").read_text())
    sha = {f["relative"]: f["sha256"] for f in manifest["files"]}
    assert sha[f"{SID}.jsonl"] == hashlib.sha256(b"main\n").hexdigest()


def test_set_aside_lines_keep_label_reason_and_exact_bytes(tmp_path: Path) -> None:
    line = _Line("copy.jsonl", 7, b"\xfe torn", "not JSON")
    folder = _backup(tmp_path, set_aside=[line])
    (record,) = [json.loads(x) for x in (folder / "set_aside.jsonl").read_text().splitlines()]
    assert (record["label"], record["line_number"], record["reason"]) == (
        "copy.jsonl",
        7,
        "not JSON",
    )
    assert base64.b64decode(record["raw_base64"]) == b"\xfe torn"


def test_extras_are_stored_under_with(tmp_path: Path) -> None:
    extra = tmp_path / "old.jsonl"
    folder = _backup(tmp_path, extras=[(extra, b"old\n")])
    assert (folder / "with" / "1-old.jsonl").read_bytes() == b"old\n"


def test_load_backup_returns_what_was_saved(tmp_path: Path) -> None:
    folder = _backup(tmp_path, written={f"{SID}.jsonl": b"merged\n"})
    backup = load_backup(folder)
    assert [backup.data_of(f) for f in backup.files] == [b"main\n", b"\xff\n"]
    assert set(backup.written) == {f"{SID}.jsonl"}


def test_data_of_refuses_a_tampered_backup(tmp_path: Path) -> None:
    backup = load_backup(_backup(tmp_path))
    (backup.path / "files" / f"{SID}.jsonl").write_bytes(b"evil\n")
    with pytest.raises(InvalidInput, match="does not match its checksum"):
        backup.data_of(backup.files[0])


def test_backup_refuses_paths_that_leave_the_project(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        create_backup(session_id=SID, project_dir=tmp_path, originals=[Original("../x", b"")])


def test_two_backups_in_the_same_instant_do_not_collide(tmp_path: Path) -> None:
    first, second = _backup(tmp_path), _backup(tmp_path)
    assert first != second
    assert len(list_backups(SID)) == 2


def test_latest_backup_is_the_newest(tmp_path: Path) -> None:
    _backup(tmp_path)
    newest = create_backup(session_id=SID, project_dir=tmp_path, originals=[])
    assert latest_backup(SID).path == newest.path


def test_latest_backup_without_any_is_session_not_found() -> None:
    with pytest.raises(SessionNotFound, match="no roam backup"):
        latest_backup(SID2)


def test_latest_backup_refuses_one_already_undone(tmp_path: Path) -> None:
    mark_undone(load_backup(_backup(tmp_path)), "now")
    with pytest.raises(SessionNotFound, match="already undone"):
        latest_backup(SID)


def test_backed_up_sessions_lists_ids(tmp_path: Path) -> None:
    _backup(tmp_path)
    assert backed_up_sessions() == (SID,)


def _blocks_under(root: Path) -> int:
    """Bytes on disk under ``root``, each inode counted once (what ``du`` reports)."""
    seen: dict[tuple[int, int], int] = {}
    for path in root.rglob("*"):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            seen[(info.st_dev, info.st_ino)] = info.st_blocks * 512
    return sum(seen.values())


def test_backup_files_are_hard_links_to_one_stored_object(tmp_path: Path) -> None:
    folder = _backup(tmp_path)
    saved = folder / "files" / f"{SID}.jsonl"
    digest = hashlib.sha256(b"main\n").hexdigest()
    assert saved.samefile(objects_root() / digest[:2] / digest)


def test_repeated_backups_of_the_same_bytes_cost_one_copy(tmp_path: Path) -> None:
    big = Original(f"{SID}.jsonl", b"x" * 1_000_000)
    for _ in range(3):
        create_backup(session_id=SID, project_dir=tmp_path, originals=[big])
    assert len(list_backups(SID)) == 3
    assert _blocks_under(backups_root()) < 1_100_000


def test_a_damaged_object_is_stored_again_for_the_next_backup(tmp_path: Path) -> None:
    first = load_backup(_backup(tmp_path))
    digest = first.files[0].sha256
    damaged = objects_root() / digest[:2] / digest
    damaged.unlink()
    damaged.write_bytes(b"rot\n")
    second = load_backup(_backup(tmp_path))
    assert second.data_of(second.files[0]) == b"main\n"


def test_a_backup_made_before_the_store_still_loads_and_reads(tmp_path: Path) -> None:
    legacy_backup(SID, "20260101T000000.000000Z", b"old\n", tmp_path)
    backup = latest_backup(SID)
    assert backup.data_of(backup.files[0]) == b"old\n"


def test_a_backup_killed_while_being_built_is_not_listed(tmp_path: Path) -> None:
    session_dir = backups_root() / SID
    half = session_dir / f"{TEMP_PREFIX}00000000-1-1-x"
    (half / "files").mkdir(parents=True)
    (half / "manifest.json").write_text("{}")
    assert list_backups(SID) == ()


def test_the_next_backup_removes_one_a_dead_process_was_building(tmp_path: Path) -> None:
    half = backups_root() / SID / dead_temp_name("building")
    (half / "files").mkdir(parents=True)
    folder = _backup(tmp_path)
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


def test_backed_up_sessions_ignore_the_object_store(tmp_path: Path) -> None:
    _backup(tmp_path)
    assert objects_root().is_dir()
    assert backed_up_sessions() == (SID,)


def test_latest_backup_refuses_one_whose_files_were_pruned(tmp_path: Path) -> None:
    folder = _backup(tmp_path)
    (folder / "pruned").write_text("now\n")
    with pytest.raises(SessionNotFound, match="pruned"):
        latest_backup(SID)


def test_undo_restores_from_a_backup_made_before_the_store(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    project = projects / "-p"
    project.mkdir(parents=True)
    (project / f"{SID}.jsonl").write_bytes(b"merged\n")
    legacy_backup(SID, "20260101T000000.000000Z", b"original\n", project)
    undo_session(SID, projects)
    assert (project / f"{SID}.jsonl").read_bytes() == b"original\n"


def test_undo_restores_from_an_older_backup_once_it_is_in_the_store(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    project = projects / "-p"
    project.mkdir(parents=True)
    folder = legacy_backup(SID, "20260101T000000.000000Z", b"original\n", project)
    adopt_into_store(folder / "files" / f"{SID}.jsonl")
    undo_session(SID, projects)
    assert (project / f"{SID}.jsonl").read_bytes() == b"original\n"
