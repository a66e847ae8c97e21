from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from session_roam.engine.conflicts.find import (
    pending_sessions,
    resolve_backup_session,
    resolve_session,
)
from session_roam.engine.conflicts.merging import merge_session, merge_sessions, undo_session
from session_roam.engine.core.backup import create_backup, latest_backup, list_backups
from session_roam.engine.core.paths import claude_config_dir
from session_roam.engine.core.store import find_session_files
from session_roam.errors import InvalidInput, LeaseHeld, MergeError, SessionNotFound
from tests.engine.sessiontree import (
    BASE,
    FROM_A,
    FROM_B,
    SID,
    SID2,
    STAMP_A,
    STAMP_B,
    Tree,
    row,
    u,
)


@pytest.fixture
def tree(clean_environ: Path) -> Tree:
    return Tree(claude_config_dir())


def _uuids(data: bytes) -> set[str]:
    found = set()
    for line in data.splitlines():
        try:
            record: Any = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "uuid" in record:
            found.add(record["uuid"])
    return found


def _session(tree: Tree, session_id: str = SID) -> Any:
    return find_session_files(tree.project(), session_id)


# -- finding ----------------------------------------------------------------------------------


def test_pending_sessions_lists_only_sessions_with_copies(tree: Tree) -> None:
    tree.conflicted_session(SID)
    tree.write(f"{SID2}.jsonl", BASE)
    assert [s.session_id for s in pending_sessions(tree.projects)] == [SID]


def test_pending_sessions_can_be_limited_to_one_project(tree: Tree) -> None:
    tree.conflicted_session(SID, slug="-a")
    tree.conflicted_session(SID2, slug="-b")
    found = pending_sessions(tree.projects, tree.project("-b"))
    assert [s.session_id for s in found] == [SID2]


def test_resolve_session_accepts_a_unique_prefix(tree: Tree) -> None:
    tree.conflicted_session(SID)
    tree.write(f"{SID2}.jsonl", BASE)
    assert resolve_session(SID[:4].upper(), tree.projects).session_id == SID


def test_resolve_session_lists_candidates_of_an_ambiguous_prefix(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE, slug="-a")
    tree.write(f"{SID}.jsonl", BASE, slug="-b")
    with pytest.raises(InvalidInput, match=r"matches 2 sessions: .*\(-a\), .*\(-b\)"):
        resolve_session(SID[:6], tree.projects)


def test_resolve_session_of_an_unknown_prefix_is_session_not_found(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    with pytest.raises(SessionNotFound, match="No session id starts with 'ffff'"):
        resolve_session("ffff", tree.projects)


def test_resolve_session_refuses_a_name_that_is_no_id(tree: Tree) -> None:
    with pytest.raises(InvalidInput, match="is not a session id or the start of one"):
        resolve_session("*", tree.projects)


def test_resolve_session_accepts_the_path_of_a_conflict_copy(tree: Tree) -> None:
    tree.conflicted_session(SID)
    copy = tree.project() / f"{SID}.sync-conflict-{STAMP_A}.jsonl"
    assert resolve_session(str(copy), tree.projects).session_id == SID


def test_resolve_session_refuses_a_path_outside_projects(tree: Tree, tmp_path: Path) -> None:
    outside = tmp_path / f"{SID}.jsonl"
    outside.write_bytes(BASE)
    with pytest.raises(InvalidInput, match="is not inside Claude Code's projects folder"):
        resolve_session(str(outside), tree.projects)


# -- merging ----------------------------------------------------------------------------------


def test_merge_keeps_the_records_of_every_version(tree: Tree) -> None:
    main = tree.conflicted_session()
    merge_session(_session(tree))
    assert _uuids(main.read_bytes()) == _uuids(FROM_A) | _uuids(FROM_B)


def test_merge_removes_every_conflict_copy(tree: Tree) -> None:
    tree.conflicted_session()
    tree.write(f"{SID}.sync-conflict-{STAMP_A}.sync-conflict-{STAMP_B}.jsonl", FROM_A)
    tree.write(f"{SID}/subagents/agent-x.jsonl", BASE)
    tree.write(f"{SID}/subagents/agent-x.sync-conflict-{STAMP_B}.jsonl", FROM_B)
    tree.write(f"{SID}/custom-title.json", b'{"customTitle":"a"}')
    tree.write(f"{SID}/custom-title.sync-conflict-{STAMP_A}.json", b'{"customTitle":"b"}')
    result = merge_session(_session(tree))
    assert result.status == "merged"
    assert tree.conflict_files() == []
    assert result.remaining == ()


def test_merge_backs_up_every_original_byte_exact(tree: Tree) -> None:
    tree.conflicted_session()
    before = tree.snapshot()
    result = merge_session(_session(tree))
    assert result.backup is not None
    saved = {
        str(p.relative_to(result.backup / "files")): p.read_bytes()
        for p in (result.backup / "files").rglob("*")
        if p.is_file()
    }
    assert saved == {rel.removeprefix("-tmp-proj/"): data for rel, data in before.items()}


def test_merge_keeps_the_mode_of_the_main_file(tree: Tree) -> None:
    main = tree.conflicted_session()
    main.chmod(0o640)
    merge_session(_session(tree))
    assert stat.S_IMODE(main.stat().st_mode) == 0o640


def test_merge_dry_run_changes_nothing(tree: Tree) -> None:
    tree.conflicted_session()
    before = tree.tree_hash()
    result = merge_session(_session(tree), dry_run=True)
    assert result.status == "dry-run"
    assert tree.tree_hash() == before
    assert list_backups(SID) == ()


def test_merge_dry_run_reports_the_result_it_would_write(tree: Tree) -> None:
    tree.conflicted_session()
    result = merge_session(_session(tree), dry_run=True)
    (file_plan,) = result.plan.files
    assert file_plan.result is not None
    assert _uuids(file_plan.result) == _uuids(FROM_A) | _uuids(FROM_B)


def test_merge_leaves_a_session_without_conflicts_untouched(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", FROM_A)
    before = tree.tree_hash()
    result = merge_session(_session(tree))
    assert result.status == "nothing-to-do"
    assert tree.tree_hash() == before
    assert list_backups(SID) == ()


def test_merge_with_adds_an_extra_version(tree: Tree, tmp_path: Path) -> None:
    main = tree.conflicted_session()
    extra = tmp_path / "from-other-machine.jsonl"
    extra.write_bytes(BASE + row(u(5), u(2), "turn only in the old copy"))
    merge_session(_session(tree), extras=[extra])
    assert u(5) in _uuids(main.read_bytes())
    assert extra.exists()


def test_merge_with_works_on_a_session_without_copies(tree: Tree, tmp_path: Path) -> None:
    main = tree.write(f"{SID}.jsonl", FROM_A)
    extra = tmp_path / "old.jsonl"
    extra.write_bytes(FROM_B)
    result = merge_session(_session(tree), extras=[extra])
    assert result.status == "merged"
    assert _uuids(main.read_bytes()) == _uuids(FROM_A) | _uuids(FROM_B)


def test_merge_with_several_sessions_refuses_extras(tree: Tree, tmp_path: Path) -> None:
    tree.conflicted_session(SID)
    tree.conflicted_session(SID2)
    with pytest.raises(InvalidInput, match="--with adds versions of one session"):
        merge_sessions(pending_sessions(tree.projects), extras=[tmp_path / "x"])


def test_merge_merges_subagent_copies_as_sessions(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    sub = tree.write(f"{SID}/subagents/agent-x.jsonl", FROM_A)
    tree.write(f"{SID}/subagents/agent-x.sync-conflict-{STAMP_A}.jsonl", FROM_B)
    result = merge_session(_session(tree))
    assert [f.kind for f in result.plan.files] == ["subagent"]
    assert _uuids(sub.read_bytes()) == _uuids(FROM_A) | _uuids(FROM_B)


def test_merge_keeps_a_different_sibling_file_under_a_kept_name(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    title = tree.write(f"{SID}/custom-title.json", b'{"customTitle":"a"}')
    tree.write(f"{SID}/custom-title.sync-conflict-{STAMP_A}.json", b'{"customTitle":"b"}')
    merge_session(_session(tree))
    kept = sorted(p.name for p in title.parent.iterdir())
    assert title.read_bytes() == b'{"customTitle":"a"}'
    assert len(kept) == 2
    assert kept[1].startswith("custom-title.roam-kept-")
    assert (title.parent / kept[1]).read_bytes() == b'{"customTitle":"b"}'


def test_merge_drops_an_identical_sibling_copy(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    title = tree.write(f"{SID}/custom-title.json", b"{}")
    tree.write(f"{SID}/custom-title.sync-conflict-{STAMP_A}.json", b"{}")
    result = merge_session(_session(tree))
    assert [p.name for p in title.parent.iterdir()] == ["custom-title.json"]
    assert result.plan.files[0].action == "drop-duplicates"


def test_merge_recreates_a_missing_main_file_from_its_copies(tree: Tree) -> None:
    tree.write(f"{SID}.sync-conflict-{STAMP_A}.jsonl", FROM_A)
    tree.write(f"{SID}.sync-conflict-{STAMP_B}.jsonl", FROM_B)
    merge_session(_session(tree))
    main = tree.project() / f"{SID}.jsonl"
    assert _uuids(main.read_bytes()) == _uuids(FROM_A) | _uuids(FROM_B)
    assert stat.S_IMODE(main.stat().st_mode) == 0o600


def test_merge_refuses_a_session_leased_elsewhere(tree: Tree) -> None:
    tree.conflicted_session()
    before = tree.tree_hash()
    with pytest.raises(LeaseHeld, match="being written on another machine"):
        merge_session(_session(tree), is_locked=lambda sid: sid == SID)
    assert tree.tree_hash() == before


def test_merge_with_force_ignores_the_lease(tree: Tree) -> None:
    tree.conflicted_session()
    result = merge_session(_session(tree), is_locked=lambda sid: True, force=True)
    assert result.status == "merged"


def test_merge_stops_when_a_version_changes_underneath(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = tree.conflicted_session()
    real = create_backup

    def backup_then_syncthing_writes(**kwargs: Any) -> Any:
        made = real(**kwargs)
        main.write_bytes(FROM_B + row(u(9), u(4), "arrived meanwhile"))
        return made

    monkeypatch.setattr(
        "session_roam.engine.conflicts.merging.create_backup", backup_then_syncthing_writes
    )
    with pytest.raises(MergeError, match="changed while roam was merging"):
        merge_session(_session(tree))
    assert tree.conflict_files() == [f"-tmp-proj/{SID}.sync-conflict-{STAMP_A}.jsonl"]


# -- undo -------------------------------------------------------------------------------------


def test_undo_restores_the_originals_byte_exact(tree: Tree) -> None:
    tree.conflicted_session()
    tree.write(f"{SID}/custom-title.json", b'{"customTitle":"a"}')
    tree.write(f"{SID}/custom-title.sync-conflict-{STAMP_A}.json", b'{"customTitle":"b"}')
    before = tree.snapshot()
    merge_session(_session(tree))
    result = undo_session(SID, tree.projects)
    assert tree.snapshot() == before
    assert any(".roam-kept-" in rel for rel in result.removed)


def test_undo_removes_a_main_file_the_merge_created(tree: Tree) -> None:
    tree.write(f"{SID}.sync-conflict-{STAMP_A}.jsonl", FROM_A)
    before = tree.snapshot()
    merge_session(_session(tree))
    undo_session(SID, tree.projects)
    assert tree.snapshot() == before


def test_undo_refuses_when_the_session_was_continued(tree: Tree) -> None:
    main = tree.conflicted_session()
    merge_session(_session(tree))
    with main.open("ab") as handle:
        handle.write(row(u(8), u(4), "continued after the merge"))
    with pytest.raises(MergeError, match="changed after the merge"):
        undo_session(SID, tree.projects)


def test_undo_with_force_saves_the_current_files_first(tree: Tree) -> None:
    main = tree.conflicted_session()
    merge_session(_session(tree))
    continued = main.read_bytes() + row(u(8), u(4), "continued")
    main.write_bytes(continued)
    undo_session(SID, tree.projects, force=True)
    assert main.read_bytes() == FROM_B
    kinds = [b.kind for b in list_backups(SID)]
    assert kinds == ["merge", "before-undo"]
    saved = list_backups(SID)[-1]
    assert saved.data_of(saved.files[0]) == continued


def test_undo_twice_says_it_was_already_undone(tree: Tree) -> None:
    tree.conflicted_session()
    merge_session(_session(tree))
    undo_session(SID, tree.projects)
    with pytest.raises(SessionNotFound, match="already undone"):
        undo_session(SID, tree.projects)


def test_undo_refuses_a_backup_pointing_outside_projects(tree: Tree, tmp_path: Path) -> None:
    tree.conflicted_session()
    merge_session(_session(tree))
    manifest_path = latest_backup(SID).path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["project_dir"] = str(tmp_path)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(InvalidInput, match="is not inside"):
        undo_session(SID, tree.projects)


def test_resolve_backup_session_accepts_a_prefix() -> None:
    assert resolve_backup_session(SID[:5], [SID, SID2]) == SID


# -- real transcripts (fixtures/corpus, written by Claude Code 2.1.331; see ATTRIBUTION.md) ---

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"
REAL_ID = "422da93e-d484-46df-ab6c-3e5dc0f38edf"


def test_merge_of_two_real_machines_keeps_every_record_and_undoes_exactly(tree: Tree) -> None:
    machine_a = (CORPUS / "machine-a-422da93e.jsonl").read_bytes()
    machine_b = (CORPUS / "machine-b-422da93e.jsonl").read_bytes()
    main = tree.write(f"{REAL_ID}.jsonl", machine_b)
    tree.write(f"{REAL_ID}.sync-conflict-{STAMP_A}.jsonl", machine_a)
    before = tree.snapshot()
    result = merge_session(_session(tree, REAL_ID))
    merged = main.read_bytes()
    set_aside = {s.raw for f in result.plan.files if f.outcome for s in f.outcome.set_aside}
    kept = _uuids(merged) | _uuids(b"\n".join(set_aside))
    assert kept >= _uuids(machine_a) | _uuids(machine_b)
    assert tree.conflict_files() == []
    undo_session(REAL_ID, tree.projects)
    assert tree.snapshot() == before


def test_resolve_session_accepts_a_file_inside_the_sibling_folder(tree: Tree) -> None:
    sub = tree.write(f"{SID}/subagents/agent-x.sync-conflict-{STAMP_A}.jsonl", BASE)
    found = resolve_session(str(sub), tree.projects)
    assert (found.session_id, found.project_dir) == (SID, tree.project())


def test_resolve_session_refuses_a_path_that_names_no_session(tree: Tree) -> None:
    notes = tree.write("memory/MEMORY.md", b"notes")
    with pytest.raises(InvalidInput, match="is not a session id"):
        resolve_session(str(notes), tree.projects)


def test_merge_stops_when_the_missing_main_file_arrives_meanwhile(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree.write(f"{SID}.sync-conflict-{STAMP_A}.jsonl", FROM_A)
    real = create_backup

    def backup_then_main_arrives(**kwargs: Any) -> Any:
        made = real(**kwargs)
        tree.write(f"{SID}.jsonl", FROM_B)
        return made

    monkeypatch.setattr(
        "session_roam.engine.conflicts.merging.create_backup", backup_then_main_arrives
    )
    with pytest.raises(MergeError, match=f"{SID}.jsonl changed while roam was merging"):
        merge_session(_session(tree))
    assert (tree.project() / f"{SID}.jsonl").read_bytes() == FROM_B
