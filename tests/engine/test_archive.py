"""The local archive: hard links that keep a session's bytes when its synced path is unlinked."""

from __future__ import annotations

import errno
import json
import os
import shutil
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_roam.engine.deletions import archive as archive_module
from session_roam.engine.deletions.archive import lost_files, refresh_archive, restore_file
from session_roam.engine.deletions.restore import list_lost, restore
from session_roam.engine.sessions.journal import Journal
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

SESSION = "0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40"
TRANSCRIPT = f"-p/{SESSION}.jsonl"
COMPANION = f"-p/{SESSION}/subagents/a.jsonl"


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    root = tmp_path / "projects"
    (root / "-p" / SESSION / "subagents").mkdir(parents=True)
    (root / TRANSCRIPT).write_bytes(b'{"a":1}\n')
    (root / COMPANION).write_bytes(b'{"b":2}\n')
    return root


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"


def test_archive_entry_is_the_same_inode_as_the_session(projects: Path, archive: Path) -> None:
    refresh_archive(projects, archive)
    assert os.path.samefile(projects / TRANSCRIPT, archive / TRANSCRIPT)


def test_archive_keeps_bytes_after_the_session_is_unlinked(projects: Path, archive: Path) -> None:
    refresh_archive(projects, archive)
    (projects / TRANSCRIPT).unlink()
    assert (archive / TRANSCRIPT).read_bytes() == b'{"a":1}\n'


def test_archive_relinks_a_file_replaced_by_rename(projects: Path, archive: Path) -> None:
    refresh_archive(projects, archive)
    replacement = projects / "-p" / "new.tmp"
    replacement.write_bytes(b'{"a":1}\n{"a":2}\n')
    replacement.replace(projects / TRANSCRIPT)
    assert refresh_archive(projects, archive).linked == 1
    assert os.path.samefile(projects / TRANSCRIPT, archive / TRANSCRIPT)


def test_archive_skips_conflict_copies_roam_state_and_temp_files(
    projects: Path, archive: Path
) -> None:
    (projects / "-p" / f"{SESSION}.sync-conflict-20261125-131239-MRUWJBM.jsonl").write_text("x")
    (projects / "-p" / ".roam-tmp-abc.tmp").write_text("x")
    (projects / ".roam" / "leases").mkdir(parents=True)
    (projects / ".roam" / "leases" / "c.json").write_text("{}")
    assert refresh_archive(projects, archive).files == 2


def test_archive_never_follows_a_symlink(projects: Path, archive: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.write_text("not a session")
    (projects / "-p" / "link.jsonl").symlink_to(outside)
    refresh_archive(projects, archive)
    assert not (archive / "-p" / "link.jsonl").exists()


def test_refresh_archives_exactly_the_files_the_deletion_policy_protects(
    projects: Path, archive: Path, tmp_path: Path
) -> None:
    from session_roam.engine.deletions.reassert import held_files

    (projects / "-p" / ".hidden-deeper").mkdir()
    (projects / "-p" / ".hidden-deeper" / "kept.json").write_text("{}")
    (projects / "-p" / SESSION / "subagents" / ".syncthing.a.jsonl.tmp").write_text("x")
    (projects / "-p" / SESSION / "todo.sync-conflict-20261125-131239-MRUWJBM.json").write_text("x")
    (projects / ".stfolder").mkdir()
    (projects / ".stfolder" / "marker").write_text("x")
    (projects / "MEMORY.md").write_text("kept")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.jsonl").write_text("x")
    (projects / "-linked").symlink_to(tmp_path / "outside")
    refresh = refresh_archive(projects, archive)
    archived = set(held_files(archive))  # every file there (its own state is a dot name)
    assert archived == set(held_files(projects))
    assert refresh.files == len(archived) == refresh.linked


def _unchanged_run(projects: Path, archive: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A refresh after a settled one, and the folders it listed (the others it skipped)."""
    refresh_archive(projects, archive)  # links every file
    monkeypatch.setattr(archive_module, "_settled", lambda _key: True)  # as if 2 s went by
    refresh_archive(projects, archive)  # finds every file archived: records its folder
    refresh_archive(projects, archive)  # the archive's root again, as the record made it
    listed: list[str] = []
    real = archive_module._list_folder

    def spy(path: str, top: bool) -> tuple[int, list[str], list[tuple[str, int]]] | None:
        listed.append(os.path.relpath(path, projects))
        return real(path, top)

    monkeypatch.setattr(archive_module, "_list_folder", spy)
    return listed


def test_refresh_skips_folders_nothing_was_renamed_into_since_the_last_one(
    projects: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = _unchanged_run(projects, archive, monkeypatch)
    assert refresh_archive(projects, archive).files == 2
    assert listed == []


def test_refresh_still_relinks_a_file_replaced_by_rename_in_a_settled_folder(
    projects: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = _unchanged_run(projects, archive, monkeypatch)
    replacement = projects / "-p" / "new.tmp"
    replacement.write_bytes(b'{"a":1}\n{"a":2}\n')
    replacement.replace(projects / TRANSCRIPT)
    assert refresh_archive(projects, archive).linked == 1
    assert os.path.samefile(projects / TRANSCRIPT, archive / TRANSCRIPT)
    assert listed == ["-p"]


def test_refresh_links_again_an_archive_entry_removed_from_a_settled_folder(
    projects: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _unchanged_run(projects, archive, monkeypatch)
    (archive / COMPANION).unlink()
    assert refresh_archive(projects, archive).linked == 1
    assert os.path.samefile(projects / COMPANION, archive / COMPANION)


def test_refresh_records_no_folder_changed_within_the_last_two_seconds(
    projects: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh_archive(projects, archive)
    refresh_archive(projects, archive)
    listed: list[str] = []
    real = archive_module._list_folder

    def spy(path: str, top: bool) -> tuple[int, list[str], list[tuple[str, int]]] | None:
        listed.append(path)
        return real(path, top)

    monkeypatch.setattr(archive_module, "_list_folder", spy)
    refresh_archive(projects, archive)
    assert len(listed) == 4  # projects, -p, the session's folder, subagents: none trusted


def test_refresh_looks_at_every_folder_when_its_record_file_is_garbage(
    projects: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = _unchanged_run(projects, archive, monkeypatch)
    (archive / ".state" / "unchanged.json").write_text('{"projects": 1, "folders": [[1, "x"]]}')
    assert refresh_archive(projects, archive).files == 2
    assert len(listed) == 4


def test_lost_files_lists_what_the_synced_folder_no_longer_has(
    projects: Path, archive: Path
) -> None:
    refresh_archive(projects, archive)
    (projects / TRANSCRIPT).unlink()
    assert [f.relpath for f in lost_files(projects, archive)] == [TRANSCRIPT]


def test_lost_files_leaves_out_tombstoned_sessions(projects: Path, archive: Path) -> None:
    refresh_archive(projects, archive)
    (projects / TRANSCRIPT).unlink()
    assert lost_files(projects, archive, is_tombstoned=lambda s: s == SESSION) == []


def test_restore_file_brings_back_the_exact_bytes(projects: Path, archive: Path) -> None:
    refresh_archive(projects, archive)
    (projects / TRANSCRIPT).unlink()
    assert restore_file(projects, TRANSCRIPT, archive)
    assert (projects / TRANSCRIPT).read_bytes() == b'{"a":1}\n'


def test_restore_file_never_replaces_a_file_that_exists(projects: Path, archive: Path) -> None:
    refresh_archive(projects, archive)
    (projects / TRANSCRIPT).unlink()
    (projects / TRANSCRIPT).write_bytes(b"newer\n")
    assert not restore_file(projects, TRANSCRIPT, archive)
    assert (projects / TRANSCRIPT).read_bytes() == b"newer\n"


def test_restore_brings_back_a_wiped_project_folder_with_its_companions(
    projects: Path,
) -> None:
    refresh_archive(projects)
    for path in sorted(projects.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    done = restore(projects, session=None)
    assert sorted(done.restored) == sorted([COMPANION, TRANSCRIPT])
    assert list_lost(projects) == []


def test_restore_dry_run_changes_nothing(projects: Path) -> None:
    refresh_archive(projects)
    (projects / TRANSCRIPT).unlink()
    done = restore(projects, session=None, dry_run=True)
    assert [item.session for item in done.lost] == [SESSION]
    assert not (projects / TRANSCRIPT).exists()


def test_restore_refuses_a_folder_that_is_a_symlink_out_of_the_synced_folder(
    projects: Path, archive: Path, tmp_path: Path
) -> None:
    refresh_archive(projects, archive)
    shutil.rmtree(projects / "-p")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (projects / "-p").symlink_to(outside)
    with pytest.raises(InvalidInput):
        restore_file(projects, TRANSCRIPT, archive)
    assert list(outside.iterdir()) == []


_NAMES = st.sets(st.sampled_from([f"-p{i}/s{j}.jsonl" for i in range(3) for j in range(4)]))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(held=_NAMES, deleted=_NAMES, rewritten=_NAMES)
def test_restore_law_every_deleted_file_comes_back_and_no_present_file_changes(
    tmp_path_factory: pytest.TempPathFactory,
    held: set[str],
    deleted: set[str],
    rewritten: set[str],
) -> None:
    root = tmp_path_factory.mktemp("law")
    projects, archive = root / "projects", root / "archive"
    for name in held:
        (projects / name).parent.mkdir(parents=True, exist_ok=True)
        (projects / name).write_bytes(name.encode())
    refresh_archive(projects, archive)
    for name in held & deleted:
        (projects / name).unlink()
    for name in held & deleted & rewritten:  # deleted, then written anew: the newer file stays
        (projects / name).write_bytes(b"newer")
    for item in lost_files(projects, archive):
        restore_file(projects, item.relpath, archive)
    for name in held:
        expected = b"newer" if name in deleted & rewritten else name.encode()
        assert (projects / name).read_bytes() == expected


def test_restore_falls_back_to_the_journal_when_the_archive_never_held_the_session(
    tmp_path: Path,
) -> None:
    projects = tmp_path / "projects"
    path = projects / TRANSCRIPT
    path.parent.mkdir(parents=True)
    row = {"type": "user", "uuid": "11111111-1111-4111-8111-111111111111", "parentUuid": None}
    line = json.dumps({**row, "sessionId": SESSION, "message": {"content": "mine"}}) + "\n"
    journal = Journal()
    journal.record(path, "launch", session_id=SESSION)
    path.write_text(line)
    journal.record(path, "release", session_id=SESSION)
    path.unlink()
    done = restore(projects, session=None)
    assert [item.source for item in done.lost] == ["journal"]
    assert b'"mine"' in path.read_bytes()


def _swapped_after_walk(monkeypatch: pytest.MonkeyPatch, relpath: str) -> None:
    """A peer swaps a file (or a folder above it) for a link after the walk listed it."""
    folder, _, name = relpath.rpartition("/")

    def listed(_path: str, top: bool) -> tuple[int, list[str], list[tuple[str, int]]]:
        return (0, [folder], []) if top else (0, [], [(name, 0)])

    monkeypatch.setattr(archive_module, "_list_folder", listed)


def _archived_bytes(archive: Path) -> bytes:
    return b"".join(p.read_bytes() for p in archive.rglob("*") if p.is_file())


def test_refresh_never_hard_links_a_file_behind_a_project_folder_swapped_for_a_link(
    projects: Path, archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / f"{SESSION}.jsonl").write_bytes(b'{"secret":"DECOY"}\n')
    shutil.rmtree(projects / "-p")
    (projects / "-p").symlink_to(outside)
    _swapped_after_walk(monkeypatch, TRANSCRIPT)
    refresh_archive(projects, archive)
    assert b"DECOY" not in _archived_bytes(archive)
    assert (outside / f"{SESSION}.jsonl").stat().st_nlink == 1


def test_refresh_never_copies_the_target_of_a_file_swapped_for_a_link(
    projects: Path, archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoy = tmp_path / "decoy.jsonl"
    decoy.write_bytes(b'{"secret":"DECOY"}\n')
    (projects / TRANSCRIPT).unlink()
    (projects / TRANSCRIPT).symlink_to(decoy)
    _swapped_after_walk(monkeypatch, TRANSCRIPT)

    def no_hard_links(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EXDEV, "another file system")

    monkeypatch.setattr(os, "link", no_hard_links)
    refresh_archive(projects, archive)
    assert b"DECOY" not in _archived_bytes(archive)


def test_restore_all_brings_back_the_rest_when_one_project_folder_is_now_a_link(
    projects: Path, tmp_path: Path
) -> None:
    other = f"-q/{SESSION.replace('0b5c', '1b5c')}.jsonl"
    (projects / "-q").mkdir()
    (projects / other).write_bytes(b'{"q":1}\n')
    refresh_archive(projects)
    shutil.rmtree(projects / "-p")
    (projects / other).unlink()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (projects / "-p").symlink_to(outside)
    done = restore(projects, session=None)
    assert (done.restored, sorted(done.skipped)) == ((other,), sorted([COMPANION, TRANSCRIPT]))
    assert list(outside.iterdir()) == []


def test_restore_writes_no_journaled_session_through_a_project_folder_now_a_link(
    tmp_path: Path,
) -> None:
    projects = tmp_path / "projects"
    path = projects / TRANSCRIPT
    path.parent.mkdir(parents=True)
    row = {"type": "user", "uuid": "11111111-1111-4111-8111-111111111111", "parentUuid": None}
    journal = Journal()
    journal.record(path, "launch", session_id=SESSION)
    path.write_text(json.dumps({**row, "sessionId": SESSION}) + "\n")
    journal.record(path, "release", session_id=SESSION)
    shutil.rmtree(path.parent)
    (projects / "-q").mkdir()
    path.parent.symlink_to(projects / "-q")  # a peer's link, to a folder inside the folder
    done = restore(projects, session=None)
    assert (done.lost, done.restored, list((projects / "-q").iterdir())) == ((), (), [])
