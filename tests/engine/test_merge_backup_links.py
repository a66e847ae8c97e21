"""A merge backs up the files it replaces or removes by hard link, and no file it leaves as is.

The backup then costs no copy of the bytes: the old inode of a replaced transcript and the inode
of a removed conflict copy simply move into the backup store. A file left in the synced folder
(which Claude Code may append to later) loses nothing and is not backed up; the files of a merge
that stopped half way are copies, never links to files that stay, and a merge refused
before it wrote anything leaves no backup at all.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any

import pytest

from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.conflicts.settled import still_as_read
from session_roam.engine.core.backup import Original, create_backup, list_backups
from session_roam.engine.core.backup_store import backups_root, objects_root
from session_roam.engine.core.paths import claude_config_dir
from session_roam.engine.core.store import find_session_files
from session_roam.errors import MergeError, MergeRaced
from tests.engine.sessiontree import BASE, FROM_A, FROM_B, SID, STAMP_A, Tree, row, u

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

COPY = f"{SID}.sync-conflict-{STAMP_A}.jsonl"
MERGING = "session_roam.engine.conflicts.merging"


@pytest.fixture
def tree(clean_environ: Path) -> Tree:
    return Tree(claude_config_dir())


def _inode(path: Path) -> int:
    return path.stat().st_ino


def _backup_file(relative: str) -> Path:
    return list_backups(SID)[-1].path / "files" / relative


def test_a_removed_conflict_copy_is_backed_up_by_hard_link(tree: Tree) -> None:
    main = tree.conflicted_session()
    copy_inode = _inode(main.with_name(COPY))
    merge_session(find_session_files(tree.project(), SID))
    saved = _backup_file(COPY)
    assert _inode(saved) == copy_inode
    assert saved.read_bytes() == FROM_A


def test_a_replaced_transcript_is_backed_up_by_hard_link(tree: Tree) -> None:
    main = tree.conflicted_session()
    old_inode = _inode(main)
    merge_session(find_session_files(tree.project(), SID))
    assert _inode(_backup_file(main.name)) == old_inode
    assert _inode(main) != old_inode


def test_hard_linked_backup_files_are_private_once_the_merge_is_done(tree: Tree) -> None:
    main = tree.conflicted_session()
    main.chmod(0o644)
    merge_session(find_session_files(tree.project(), SID))
    assert stat.S_IMODE(_backup_file(main.name).stat().st_mode) == 0o600


def test_a_transcript_the_merge_leaves_in_place_is_not_in_the_backup(tree: Tree) -> None:
    main = tree.write(f"{SID}.jsonl", FROM_B)
    tree.write(COPY, BASE)  # a stale prefix: the transcript stays as it is
    merge_session(find_session_files(tree.project(), SID))
    assert main.read_bytes() == FROM_B
    assert not _backup_file(main.name).exists()
    assert _backup_file(COPY).read_bytes() == BASE


def _after_backup(monkeypatch: pytest.MonkeyPatch, action: Callable[[], object]) -> None:
    real = create_backup

    def backup_then(**kwargs: Any) -> Any:
        made = real(**kwargs)
        action()
        return made

    monkeypatch.setattr("session_roam.engine.conflicts.merging.create_backup", backup_then)


def _assert_the_last_backup_shares_no_synced_file(main: Path) -> None:
    synced = {_inode(main), _inode(main.with_name(COPY))}
    saved = list((list_backups(SID)[-1].path / "files").iterdir())
    assert saved
    assert all(_inode(path) not in synced for path in saved)


def _refused_after_the_backup(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A merge that Syncthing's write to the conflict copy stops after its backup was made."""
    main = tree.conflicted_session()
    _after_backup(monkeypatch, lambda: tree.write(COPY, FROM_A + row(u(9), u(4), "meanwhile")))
    with pytest.raises(MergeRaced, match="changed while roam was merging"):
        merge_session(find_session_files(tree.project(), SID))
    return main


def test_a_merge_refused_after_its_backup_leaves_no_backup(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refused_after_the_backup(tree, monkeypatch)
    assert list_backups(SID) == ()
    assert [p.name for p in (backups_root() / SID).iterdir()] == []


def test_a_merge_refused_after_its_backup_leaves_no_stored_object_sharing_a_synced_file(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = _refused_after_the_backup(tree, monkeypatch)
    synced = {_inode(main), _inode(main.with_name(COPY))}
    stored = [path for path in objects_root().rglob("*") if path.is_file()]
    assert all(_inode(path) not in synced for path in stored)


def test_a_merge_refused_after_its_backup_keeps_what_an_earlier_backup_stored(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = create_backup(
        session_id=SID, project_dir=tree.project(), originals=[Original(COPY, FROM_A)]
    )
    _refused_after_the_backup(tree, monkeypatch)
    assert list_backups(SID) == (earlier,)
    assert (earlier.path / "files" / COPY).read_bytes() == FROM_A
    assert (earlier.path / "files" / COPY).stat().st_nlink == 2  # still one object, shared


def test_a_refused_merge_whose_backup_cannot_be_removed_keeps_it_sharing_no_synced_file(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stuck(_backup: object) -> None:
        raise OSError(16, "Device or resource busy")

    monkeypatch.setattr("session_roam.engine.conflicts.settled.discard_backup", stuck)
    main = _refused_after_the_backup(tree, monkeypatch)
    _assert_the_last_backup_shares_no_synced_file(main)


def test_a_merge_whose_write_is_refused_keeps_a_backup_sharing_no_synced_file(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = tree.conflicted_session()

    def refused(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("session_roam.engine.conflicts.merging.atomic_write", refused)
    with pytest.raises(MergeError, match="the originals are in the backup"):
        merge_session(find_session_files(tree.project(), SID))
    _assert_the_last_backup_shares_no_synced_file(main)


def test_a_copy_on_another_file_system_is_backed_up_by_a_copy(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = tree.conflicted_session()

    def no_links(*_args: object, **_kwargs: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr("session_roam.engine.core.backup_store.os.link", no_links)
    copy_inode = _inode(main.with_name(COPY))
    merge_session(find_session_files(tree.project(), SID))
    saved = _backup_file(COPY)
    assert saved.read_bytes() == FROM_A
    assert _inode(saved) != copy_inode
    assert os.path.exists(main)


COPY_B = f"{SID}.sync-conflict-20261125-140000-7VA6ENF.jsonl"


def _synced_inodes(project: Path) -> set[tuple[int, int]]:
    return {(p.stat().st_dev, p.stat().st_ino) for p in project.rglob("*") if p.is_file()}


def _backup_inodes(backup: Path) -> set[tuple[int, int]]:
    return {(p.stat().st_dev, p.stat().st_ino) for p in backup.rglob("*") if p.is_file()}


def _two_identical_copies_write_refused(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two conflict copies with the same bytes (one stored object), and a merge whose write is
    refused: every synced file stays where it was."""
    tree.conflicted_session()
    tree.write(COPY_B, FROM_A)

    def refused(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("session_roam.engine.conflicts.merging.atomic_write", refused)
    with pytest.raises(MergeError, match="the originals are in the backup"):
        merge_session(find_session_files(tree.project(), SID))
    return list_backups(SID)[-1].path


def test_two_identical_copies_kept_after_a_refused_write_share_no_inode_with_the_synced_folder(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = _two_identical_copies_write_refused(tree, monkeypatch)
    assert _backup_inodes(backup).isdisjoint(_synced_inodes(tree.project()))
    stored = {(p.stat().st_dev, p.stat().st_ino) for p in objects_root().rglob("*") if p.is_file()}
    assert stored.isdisjoint(_synced_inodes(tree.project()))


def test_two_identical_copies_kept_after_a_refused_write_keep_their_bytes(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = _two_identical_copies_write_refused(tree, monkeypatch)
    assert (backup / "files" / COPY).read_bytes() == FROM_A
    assert (backup / "files" / COPY_B).read_bytes() == FROM_A


def test_a_copy_left_in_place_shares_no_inode_with_the_backup_of_its_identical_twin(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree.conflicted_session()
    tree.write(COPY_B, FROM_A)

    def first_copy_changed_after_the_backup(path: Path, original: Original) -> bool | None:
        return False if path.name == COPY else still_as_read(path, original)

    # the removal's own look (the checks before the write use settled.still_as_read)
    monkeypatch.setattr(f"{MERGING}.still_as_read", first_copy_changed_after_the_backup)
    merge_session(find_session_files(tree.project(), SID))
    assert tree.project().joinpath(COPY).exists()
    backup = list_backups(SID)[-1].path
    assert _backup_inodes(backup).isdisjoint(_synced_inodes(tree.project()))


def test_a_with_version_identical_to_a_copy_shares_no_inode_with_it_after_a_refused_write(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tree.conflicted_session()
    extra = tmp_path / "recovered.jsonl"
    extra.write_bytes(FROM_A)

    def refused(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("session_roam.engine.conflicts.merging.atomic_write", refused)
    with pytest.raises(MergeError, match="the originals are in the backup"):
        merge_session(find_session_files(tree.project(), SID), extras=(extra,))
    backup = list_backups(SID)[-1].path
    assert (backup / "with").is_dir()
    assert _backup_inodes(backup).isdisjoint(_synced_inodes(tree.project()))
