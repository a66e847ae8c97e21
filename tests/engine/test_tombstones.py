"""roam rm: the one deletion that travels, as a tombstone every node applies after a backup."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.backup import list_backups
from session_roam.engine.deletions.reassert import session_of
from session_roam.engine.deletions.tombstones import (
    TOMBSTONES_DIR,
    apply_tombstones,
    remove_session,
    session_paths,
    tombstoned_sessions,
)
from session_roam.errors import InvalidInput, SessionNotFound

if TYPE_CHECKING:
    from pathlib import Path

SESSION = "0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40"
OTHER = "11111111-2222-4333-8444-555555555555"
ME = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"


def _node(root: Path) -> Path:
    (root / "-p" / SESSION / "tool-results").mkdir(parents=True)
    (root / "-p" / f"{SESSION}.jsonl").write_text('{"a":1}\n')
    (root / "-p" / SESSION / "tool-results" / "r.txt").write_text("out")
    (root / "-p" / f"{SESSION}.sync-conflict-20261125-131239-MRUWJBM.jsonl").write_text("c\n")
    (root / "-p" / f"{OTHER}.jsonl").write_text('{"b":1}\n')
    return root


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    return _node(tmp_path / "a")


def test_session_of_names_transcripts_and_companions() -> None:
    assert [session_of(p) for p in ("s/x.jsonl", "s/x/sub/a.json", "s/memory.md")] == [
        "x",
        "x",
        "",
    ]


def test_session_paths_include_companions_and_conflict_copies(projects: Path) -> None:
    assert len(session_paths(projects, SESSION)) == 3


def test_rm_removes_every_file_of_the_session_here(projects: Path) -> None:
    remove_session(projects, SESSION, device_id=ME)
    assert session_paths(projects, SESSION) == []
    assert (projects / "-p" / f"{OTHER}.jsonl").exists()


def test_rm_keeps_the_bytes_in_the_backup_store(projects: Path) -> None:
    remove_session(projects, SESSION, device_id=ME)
    (backup,) = list_backups(SESSION)
    assert {f.relative for f in backup.files} == {
        f"-p/{SESSION}.jsonl",
        f"-p/{SESSION}/tool-results/r.txt",
        f"-p/{SESSION}.sync-conflict-20261125-131239-MRUWJBM.jsonl",
    }


def test_rm_writes_a_tombstone_naming_the_node(projects: Path) -> None:
    remove_session(projects, SESSION, device_id=ME)
    stone = json.loads((projects / TOMBSTONES_DIR / f"{SESSION}.json").read_text())
    assert (stone["session"], stone["removed_by"]) == (SESSION, ME)


def test_rm_dry_run_changes_nothing(projects: Path) -> None:
    removal = remove_session(projects, SESSION, device_id=ME, dry_run=True)
    assert len(removal.paths) == 3
    assert len(session_paths(projects, SESSION)) == 3
    assert tombstoned_sessions(projects) == frozenset()


def test_rm_refuses_an_id_that_is_not_a_uuid(projects: Path) -> None:
    with pytest.raises(InvalidInput):
        remove_session(projects, "../../etc", device_id=ME)


def test_rm_of_an_unknown_session_is_session_not_found(projects: Path) -> None:
    with pytest.raises(SessionNotFound):
        remove_session(projects, "99999999-2222-4333-8444-555555555555", device_id=ME)


def test_another_node_applies_the_tombstone(projects: Path, tmp_path: Path) -> None:
    peer = _node(tmp_path / "b")
    remove_session(projects, SESSION, device_id=ME)
    (peer / TOMBSTONES_DIR).mkdir(parents=True)
    stone = projects / TOMBSTONES_DIR / f"{SESSION}.json"
    (peer / TOMBSTONES_DIR / stone.name).write_bytes(stone.read_bytes())
    assert [r.session for r in apply_tombstones(peer)] == [SESSION]
    assert session_paths(peer, SESSION) == []


def test_rm_removes_the_sibling_folder_with_a_dead_writers_temp_in_it(projects: Path) -> None:
    from tests.support.litter import dead_temp_name

    (projects / "-p" / SESSION / "tool-results" / dead_temp_name()).write_text("half")
    remove_session(projects, SESSION, device_id=ME)
    assert not (projects / "-p" / SESSION).exists()


def test_rm_leaves_the_sibling_folder_while_a_live_writers_temp_is_in_it(projects: Path) -> None:
    from session_roam.engine.core.temps import temp_prefix

    live = projects / "-p" / SESSION / "tool-results" / f"{temp_prefix()}x.tmp"
    live.write_text("being written")
    remove_session(projects, SESSION, device_id=ME)
    assert live.exists()


def _plant_stone(projects: Path, filed_as: str, names: str, paths: list[str]) -> None:
    """A peer's tombstone: its file name, the session it names, the paths it lists."""
    stone = {
        "schema": "roam.tombstone/1",
        "session": names,
        "removed_by": ME,
        "removed_at": "2026-11-25T12:00:00+00:00",
        "paths": paths,
    }
    (projects / TOMBSTONES_DIR).mkdir(parents=True, exist_ok=True)
    (projects / TOMBSTONES_DIR / f"{filed_as}.json").write_text(json.dumps(stone))


def test_a_tombstone_listing_other_paths_removes_only_its_own_sessions_files(
    projects: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    listed = [f"-p/{OTHER}.jsonl", "../..", "../outside.txt", str(outside), "-p"]
    _plant_stone(projects, SESSION, SESSION, listed)
    apply_tombstones(projects)
    assert session_paths(projects, SESSION) == []
    assert (projects / "-p" / f"{OTHER}.jsonl").read_text() == '{"b":1}\n'
    assert outside.read_text() == "keep"


def test_a_tombstone_filed_under_one_session_naming_another_removes_nothing(
    projects: Path,
) -> None:
    _plant_stone(projects, OTHER, SESSION, [f"-p/{OTHER}.jsonl"])
    assert apply_tombstones(projects) == []
    assert (projects / "-p" / f"{OTHER}.jsonl").exists()
    assert session_paths(projects, SESSION) != []


def test_a_tombstone_removes_nothing_behind_a_symlinked_project_folder(
    projects: Path, tmp_path: Path
) -> None:
    elsewhere = _node(tmp_path / "elsewhere")
    (projects / "-linked").symlink_to(elsewhere / "-p")
    _plant_stone(projects, SESSION, SESSION, [f"-linked/{SESSION}.jsonl"])
    apply_tombstones(projects)
    assert (elsewhere / "-p" / f"{SESSION}.jsonl").read_text() == '{"a":1}\n'
    assert (projects / "-linked").is_symlink()
