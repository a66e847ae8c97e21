from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core import store
from session_roam.engine.core.paths import claude_config_dir
from session_roam.engine.core.store import (
    conflict_stamps,
    find_session_files,
    is_conflict_name,
    list_all_sessions,
    list_sessions,
    original_name,
    read_bytes,
    read_bytes_if_present,
)
from session_roam.errors import InvalidInput
from tests.engine.sessiontree import BASE, SID, SID2, STAMP_A, STAMP_B, Tree

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def tree(clean_environ: Path) -> Tree:
    return Tree(claude_config_dir())


def test_original_name_strips_one_marker() -> None:
    assert original_name(f"{SID}.sync-conflict-{STAMP_A}.jsonl") == f"{SID}.jsonl"


def test_original_name_strips_stacked_markers() -> None:
    name = f"{SID}.sync-conflict-{STAMP_A}.sync-conflict-{STAMP_B}.jsonl"
    assert original_name(name) == f"{SID}.jsonl"


def test_original_name_handles_a_file_without_extension() -> None:
    assert original_name(f"notes.sync-conflict-{STAMP_A}") == "notes"


def test_conflict_stamps_lists_every_marker_in_order() -> None:
    name = f"x.sync-conflict-{STAMP_A}.sync-conflict-{STAMP_B}.json"
    assert conflict_stamps(name) == (STAMP_A, STAMP_B)


def test_is_conflict_name_ignores_lookalikes() -> None:
    assert not is_conflict_name("x.sync-conflict-notes.jsonl")


def test_list_sessions_finds_main_files_sorted(tree: Tree) -> None:
    tree.write(f"{SID2}.jsonl", BASE)
    tree.write(f"{SID}.jsonl", BASE)
    assert [s.session_id for s in list_sessions(tree.project())] == [SID, SID2]


def test_list_sessions_skips_temp_and_foreign_files(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    tree.write(f".syncthing.{SID2}.jsonl.tmp", BASE)
    tree.write(f".roam-tmp-{SID2}.tmp", BASE)
    tree.write("memory/MEMORY.md", b"notes")
    tree.write("agent-1a2b3c4d.jsonl", BASE)
    assert [s.session_id for s in list_sessions(tree.project())] == [SID]


def test_list_sessions_skips_syncthing_temp_of_a_conflict_copy(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    tree.write(f".syncthing.{SID}.sync-conflict-{STAMP_A}.jsonl.tmp", BASE)
    (session,) = list_sessions(tree.project())
    assert session.conflict_copies == ()


def test_session_without_conflicts_has_none(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    (session,) = list_sessions(tree.project())
    assert session.main_exists
    assert not session.has_conflicts


def test_conflict_copy_is_not_listed_as_a_session_of_its_own(tree: Tree) -> None:
    tree.conflicted_session()
    (session,) = list_sessions(tree.project())
    assert [c.path.name for c in session.conflict_copies] == [
        f"{SID}.sync-conflict-{STAMP_A}.jsonl"
    ]


def test_copies_from_several_devices_and_nested_copies_are_all_found(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    names = [
        f"{SID}.sync-conflict-{STAMP_A}.jsonl",
        f"{SID}.sync-conflict-{STAMP_B}.jsonl",
        f"{SID}.sync-conflict-{STAMP_A}.sync-conflict-{STAMP_B}.jsonl",
    ]
    for name in names:
        tree.write(name, BASE)
    (session,) = list_sessions(tree.project())
    assert sorted(c.path.name for c in session.conflict_copies) == sorted(names)
    assert {c.original for c in session.conflict_copies} == {session.main}


def test_copies_inside_the_sibling_folder_are_found(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    sub = f"{SID}/subagents/agent-x.sync-conflict-{STAMP_A}.jsonl"
    title = f"{SID}/custom-title.sync-conflict-{STAMP_B}.json"
    tree.write(sub, BASE)
    tree.write(title, b"{}")
    (session,) = list_sessions(tree.project())
    found = {
        str(c.path.relative_to(tree.project())): c.original.name for c in session.conflict_copies
    }
    assert found == {sub: "agent-x.jsonl", title: "custom-title.json"}


def test_copy_whose_main_is_missing_still_names_its_session(tree: Tree) -> None:
    tree.write(f"{SID}.sync-conflict-{STAMP_A}.jsonl", BASE)
    (session,) = list_sessions(tree.project())
    assert session.session_id == SID
    assert not session.main_exists
    assert session.conflict_copies[0].original == tree.project() / f"{SID}.jsonl"


def test_list_all_sessions_covers_every_project_but_dot_folders(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE, slug="-a")
    tree.write(f"{SID2}.jsonl", BASE, slug="-b")
    tree.write(f"{SID}.sync-conflict-{STAMP_A}.jsonl", BASE, slug=".stversions")
    found = [(s.project_dir.name, s.session_id) for s in list_all_sessions(tree.projects)]
    assert found == [("-a", SID), ("-b", SID2)]


def test_list_sessions_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list_sessions(tmp_path / "nope") == ()


def test_find_session_files_of_an_unknown_id_is_empty(tree: Tree) -> None:
    found = find_session_files(tree.project(), SID)
    assert not found.main_exists
    assert found.conflict_copies == ()


def test_read_bytes_retries_while_syncthing_swaps_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "s.jsonl"
    target.write_bytes(b"data")
    calls: list[Path] = []
    real = store._read_once

    def vanishing(path: Path) -> bytes:
        calls.append(path)
        if len(calls) < 3:
            raise FileNotFoundError(path)
        return real(path)

    monkeypatch.setattr(store, "_read_once", vanishing)
    assert read_bytes(target) == b"data"
    assert len(calls) == 3


def test_read_bytes_of_a_missing_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        read_bytes(tmp_path / "gone.jsonl")


def test_read_bytes_without_permission_is_invalid_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(path: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(store, "_read_once", denied)
    with pytest.raises(InvalidInput, match="permission denied"):
        read_bytes(tmp_path / "s.jsonl")


def test_read_bytes_if_present_is_none_for_a_file_that_stays_missing(tmp_path: Path) -> None:
    assert read_bytes_if_present(tmp_path / "gone.jsonl") is None
