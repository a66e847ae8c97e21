from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from session_roam.cli.app import app
from session_roam.engine.conflicts import plan as plan_module
from session_roam.engine.core.backup import list_backups
from session_roam.engine.core.paths import claude_config_dir, project_slug
from tests.engine.sessiontree import BASE, FROM_A, SID, SID2, STAMP_A, Tree
from tests.merge.sessions import late_reply_fork
from tests.support.schemas import check_schema


@pytest.fixture
def tree(clean_environ: Path) -> Tree:
    return Tree(claude_config_dir())


def roam(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def roam_json(*args: str) -> Any:
    result = roam("--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _fails_cleanly(result: Result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert text in result.output
    assert "Traceback" not in result.output


# -- list -------------------------------------------------------------------------------------


def test_list_all_names_each_session_with_copies(tree: Tree) -> None:
    tree.conflicted_session(SID)
    tree.write(f"{SID2}.jsonl", BASE)
    result = roam("conflicts", "list", "--all")
    assert result.exit_code == 0
    assert SID in result.output
    assert SID2 not in result.output


def test_list_defaults_to_the_current_directorys_project(
    tree: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "work"
    cwd.mkdir()
    tree.conflicted_session(SID, slug=project_slug(str(cwd.resolve())))
    tree.conflicted_session(SID2, slug="-elsewhere")
    monkeypatch.chdir(cwd)
    result = roam("conflicts", "list")
    assert result.exit_code == 0
    assert SID in result.output
    assert SID2 not in result.output


def test_list_says_so_when_there_is_nothing(tree: Tree) -> None:
    result = roam("conflicts", "list", "--all")
    assert result.exit_code == 0
    assert "No conflict copies in any project." in result.output


def test_list_json_has_a_stable_schema(tree: Tree) -> None:
    tree.conflicted_session(SID)
    document = roam_json("conflicts", "list", "--all")
    assert document["schema"] == "roam.conflicts.list/1"
    (session,) = document["sessions"]
    assert session["session_id"] == SID
    assert session["conflict_copies"][0]["stamps"] == [STAMP_A]


def test_list_honours_claude_dir(tree: Tree, tmp_path: Path) -> None:
    other = Tree(tmp_path / "other-config")
    other.conflicted_session(SID2)
    result = roam("--claude-dir", str(other.config), "conflicts", "list", "--all")
    assert result.exit_code == 0
    assert SID2 in result.output


def test_list_with_claude_dir_suggests_a_merge_that_reads_the_same_dir(
    tree: Tree, tmp_path: Path
) -> None:
    other = Tree(tmp_path / "other config")
    other.conflicted_session(SID2)
    result = roam("--claude-dir", str(other.config), "conflicts", "list", "--all")
    assert f"roam --claude-dir '{other.config}' conflicts merge --all" in result.output


def _syncthing_config_sharing(home: Path, folder: str) -> None:
    """This machine's Syncthing config (default home), sharing ``folder``, not running: its
    GUI address is a port nobody listens on."""
    st = home / ".config" / "syncthing"
    st.mkdir(parents=True)
    (st / "config.xml").write_text(
        f'<configuration version="37"><folder id="claude-projects" path="{folder}"></folder>'
        '<gui enabled="true" tls="false"><address>127.0.0.1:9</address><apikey>k</apikey>'
        "</gui></configuration>"
    )


def test_merge_in_a_claude_dir_syncthing_does_not_share_needs_no_lease(
    tree: Tree, tmp_path: Path, clean_environ: Path
) -> None:
    _syncthing_config_sharing(clean_environ, "~/.claude/projects")
    other = Tree(tmp_path / "roam-example")
    other.conflicted_session(SID2)
    result = roam("--claude-dir", str(other.config), "conflicts", "merge", "--all")
    assert result.exit_code == 0, result.output
    assert other.conflict_files() == []


def test_merge_in_the_shared_claude_dir_still_asks_syncthing_for_the_lease(
    tree: Tree, clean_environ: Path
) -> None:
    _syncthing_config_sharing(clean_environ, "~/.claude/projects")
    tree.conflicted_session(SID)
    result = roam("conflicts", "merge", "--all")
    assert result.exit_code == 4, result.output


# -- show -------------------------------------------------------------------------------------


def test_show_describes_the_versions_without_writing(tree: Tree) -> None:
    tree.conflicted_session(SID)
    before = tree.tree_hash()
    result = roam("conflicts", "show", SID[:8])
    assert result.exit_code == 0
    assert "would merge" in result.output
    assert f"{SID}.sync-conflict-{STAMP_A}.jsonl" in result.output
    assert tree.tree_hash() == before


def test_show_json_lists_versions_and_the_merge_report(tree: Tree) -> None:
    tree.conflicted_session(SID)
    document = roam_json("conflicts", "show", SID)
    files = document["session"]["files"]
    assert document["schema"] == "roam.conflicts.show/1"
    assert [v["lines"] for v in files[0]["versions"]] == [3, 3]
    assert files[0]["merge"]["records_out"] == 4


# -- merge ------------------------------------------------------------------------------------


def test_merge_all_leaves_no_conflict_copy(tree: Tree) -> None:
    tree.conflicted_session(SID)
    tree.conflicted_session(SID2, slug="-other")
    result = roam("conflicts", "merge", "--all")
    assert result.exit_code == 0
    assert "Removed 1 conflict copies" in result.output
    assert tree.conflict_files() == []


def test_merge_dry_run_changes_nothing(tree: Tree) -> None:
    tree.conflicted_session(SID)
    before = tree.tree_hash()
    result = roam("conflicts", "merge", "--all", "--dry-run")
    assert result.exit_code == 0
    assert "Nothing was written (dry run)." in result.output
    assert tree.tree_hash() == before


def test_merge_json_reports_backup_and_removed_copies(tree: Tree) -> None:
    tree.conflicted_session(SID)
    document = roam_json("conflicts", "merge", SID)
    (session,) = document["sessions"]
    assert document["schema"] == "roam.conflicts.merge/1"
    assert session["status"] == "merged"
    assert session["removed"] == [f"{SID}.sync-conflict-{STAMP_A}.jsonl"]
    assert Path(session["backup"], "manifest.json").is_file()


def test_merge_with_adds_a_version(tree: Tree, tmp_path: Path) -> None:
    main = tree.write(f"{SID}.jsonl", BASE)
    extra = tmp_path / "recovered.jsonl"
    extra.write_bytes(FROM_A)
    result = roam("conflicts", "merge", SID, "--with", str(extra))
    assert result.exit_code == 0
    assert main.read_bytes() == FROM_A


def test_merge_of_a_clean_session_says_nothing_to_do(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    result = roam("conflicts", "merge", SID)
    assert result.exit_code == 0
    assert "nothing to do" in result.output


def test_merge_with_session_and_all_is_refused(tree: Tree) -> None:
    tree.conflicted_session(SID)
    _fails_cleanly(roam("conflicts", "merge", SID, "--all"), 2, "either a SESSION or --all")


# -- undo -------------------------------------------------------------------------------------


def test_undo_puts_the_conflict_copies_back(tree: Tree) -> None:
    tree.conflicted_session(SID)
    before = tree.snapshot()
    assert roam("conflicts", "merge", SID).exit_code == 0
    result = roam("conflicts", "undo", SID[:6])
    assert result.exit_code == 0
    assert "restored 2 file(s)" in result.output
    assert tree.snapshot() == before


def test_undo_json_lists_restored_files(tree: Tree) -> None:
    tree.conflicted_session(SID)
    roam("conflicts", "merge", SID)
    document = roam_json("conflicts", "undo", SID)
    assert document["schema"] == "roam.conflicts.undo/1"
    assert sorted(document["restored"]) == [
        f"{SID}.jsonl",
        f"{SID}.sync-conflict-{STAMP_A}.jsonl",
    ]


def test_undo_refuses_a_continued_session_with_exit_6(tree: Tree) -> None:
    main = tree.conflicted_session(SID)
    roam("conflicts", "merge", SID)
    with main.open("ab") as handle:
        handle.write(b'{"type":"last-prompt"}\n')
    _fails_cleanly(roam("conflicts", "undo", SID), 6, "changed after the merge")


# -- bad input --------------------------------------------------------------------------------


def test_show_refuses_a_value_that_is_no_session_id(tree: Tree) -> None:
    _fails_cleanly(roam("conflicts", "show", "not-a-uuid!"), 2, "is not a session id")


def test_show_refuses_a_path_outside_projects(tree: Tree, tmp_path: Path) -> None:
    outside = tmp_path / f"{SID}.jsonl"
    outside.write_bytes(BASE)
    result = roam("conflicts", "show", str(outside))
    _fails_cleanly(result, 2, "is not inside Claude Code's projects folder")


def test_show_of_a_missing_session_exits_2(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE)
    _fails_cleanly(roam("conflicts", "show", "ffff"), 2, "No session id starts with 'ffff'")


def test_show_of_an_ambiguous_prefix_lists_candidates(tree: Tree) -> None:
    tree.write(f"{SID}.jsonl", BASE, slug="-a")
    tree.write(f"{SID}.jsonl", BASE, slug="-b")
    _fails_cleanly(roam("conflicts", "show", SID[:4]), 2, "matches 2 sessions")


def _syncthing_writes_after_the_plan(monkeypatch: pytest.MonkeyPatch, main: Path) -> None:
    real = plan_module.plan_session

    def plan_then_syncthing_writes(*args: Any, **kwargs: Any) -> Any:
        planned = real(*args, **kwargs)
        with main.open("ab") as handle:
            handle.write(b'{"type":"user","uuid":"late","parentUuid":null}\n')
        return planned

    monkeypatch.setattr(plan_module, "plan_session", plan_then_syncthing_writes)


def test_merge_that_syncthing_races_exits_6_saying_to_run_the_merge_again(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    _syncthing_writes_after_the_plan(monkeypatch, tree.conflicted_session(SID))
    result = roam("conflicts", "merge", SID)
    _fails_cleanly(result, 6, "changed while roam was merging")
    assert "then run `roam conflicts merge` again" in result.output


def test_merge_that_syncthing_races_leaves_no_backup(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    _syncthing_writes_after_the_plan(monkeypatch, tree.conflicted_session(SID))
    assert roam("conflicts", "merge", SID).exit_code == 6
    assert list_backups(SID) == ()


SID3 = "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"


def _syncthing_writes_during_the_second_merge(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Three sessions with copies are merged in turn; Syncthing appends to the second one's
    transcript just after roam read it. Returns the session ids in the order they were planned."""
    for sid, slug in ((SID, "-a"), (SID2, "-b"), (SID3, "-c")):
        tree.conflicted_session(sid, slug=slug)
    real = plan_module.plan_session
    planned: list[str] = []

    def plan_then_syncthing_writes(session: Any, *args: Any, **kwargs: Any) -> Any:
        plan = real(session, *args, **kwargs)
        planned.append(session.session_id)
        if len(planned) == 2:
            with session.main.open("ab") as handle:
                handle.write(b'{"type":"user","uuid":"late","parentUuid":null}\n')
        return plan

    monkeypatch.setattr(plan_module, "plan_session", plan_then_syncthing_writes)
    return planned


def test_merge_all_raced_on_its_second_session_names_the_one_merged_before_it(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = _syncthing_writes_during_the_second_merge(tree, monkeypatch)
    result = roam("conflicts", "merge", "--all")
    _fails_cleanly(result, 6, f"merging session {planned[1]}; none of its files")
    message = " ".join(result.output.split())
    assert f"Stopped at session {planned[1]}: 1 session(s) merged before it stay merged" in message
    assert f"stay merged ({planned[0]})" in message
    assert "1 session(s) after it were not tried" in message
    assert "nothing in the synced folder was changed" not in message
    assert len(list_backups(planned[0])) == 1
    assert list_backups(planned[1]) == ()


def test_merge_all_raced_on_its_second_session_lists_both_in_the_json_envelope(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = _syncthing_writes_during_the_second_merge(tree, monkeypatch)
    result = roam("--json", "conflicts", "merge", "--all")
    assert result.exit_code == 6
    error = json.loads(result.stdout)["error"]
    (merged,) = error["merged_before"]
    (last,) = {SID, SID2, SID3} - set(planned)
    assert (merged["session_id"], error["not_tried"]) == (planned[0], [last])
    assert error["stopped_at"] == planned[1]
    assert Path(merged["backup"], "manifest.json").is_file()
    check_schema(json.loads(result.stdout), "roam.error-1")


def test_merge_of_one_raced_session_adds_nothing_to_its_message(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    _syncthing_writes_after_the_plan(monkeypatch, tree.conflicted_session(SID))
    result = roam("--json", "conflicts", "merge", SID)
    error = json.loads(result.stdout)["error"]
    assert error["message"].endswith("none of its files in the synced folder was changed.")
    assert "merged_before" not in error
    assert "stopped_at" not in error


def test_merge_of_an_unreadable_copy_exits_2_and_changes_nothing(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree.conflicted_session(SID)
    before = tree.tree_hash()

    def denied(path: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(path))

    # Tests run as root here, where chmod 000 does not stop a read; fail the read itself.
    monkeypatch.setattr("session_roam.engine.core.store._read_once", denied)
    _fails_cleanly(roam("conflicts", "merge", SID), 2, "permission denied")
    assert tree.tree_hash() == before


def test_merge_with_a_missing_file_exits_2(tree: Tree, tmp_path: Path) -> None:
    tree.conflicted_session(SID)
    result = roam("conflicts", "merge", SID, "--with", str(tmp_path / "nope.jsonl"))
    _fails_cleanly(result, 2, "does not exist")


def test_undo_of_a_session_never_merged_exits_2(tree: Tree) -> None:
    _fails_cleanly(roam("conflicts", "undo", SID), 2, "no roam backup")


def test_errors_under_json_are_an_envelope(tree: Tree) -> None:
    result = roam("--json", "conflicts", "show", "zz")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["type"] == "InvalidInput"


@pytest.mark.parametrize("command", ["list", "show", "merge", "undo"])
def test_every_conflicts_command_teaches_with_an_example(command: str) -> None:
    result = roam("conflicts", command, "--help")
    assert result.exit_code == 0
    assert "roam conflicts" in result.output


# -- the bundled example (fixtures/examples/conflicts, used by the README demo) --------------

EXAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "examples" / "conflicts"


def test_bundled_example_merges_and_undoes_cleanly(tmp_path: Path) -> None:
    demo = tmp_path / "roam-demo"
    shutil.copytree(EXAMPLE, demo)
    before = Tree(demo).snapshot()
    merged = roam("--claude-dir", str(demo), "conflicts", "merge", "--all")
    assert merged.exit_code == 0, merged.output
    assert "Removed 3 conflict copies" in merged.output
    assert Tree(demo).conflict_files() == []
    undone = roam("--claude-dir", str(demo), "conflicts", "undo", "3f2a")
    assert undone.exit_code == 0, undone.output
    assert Tree(demo).snapshot() == before


def test_merge_json_keys_are_the_documented_schema(tree: Tree) -> None:
    tree.conflicted_session(SID)
    (session,) = roam_json("conflicts", "merge", SID, "--dry-run")["sessions"]
    assert sorted(session) == [
        "backup",
        "conflict_copies",
        "extras",
        "files",
        "main_exists",
        "project_dir",
        "remaining_conflict_copies",
        "removed",
        "session_id",
        "status",
        "written",
    ]
    assert sorted(session["files"][0]) == [
        "action",
        "changed",
        "file",
        "kept",
        "kind",
        "main_existed",
        "merge",
        "removes",
        "result",
        "set_aside",
        "summary",
        "versions",
    ]


def test_merge_draws_no_progress_bar_off_a_terminal(tree: Tree) -> None:
    tree.conflicted_session(SID)
    result = roam("conflicts", "merge", SID)
    assert result.exit_code == 0
    assert "merging" not in result.output


# -- leases ------------------------------------------------------------------------------------


class _NoEngine:
    def __enter__(self) -> _NoEngine:
        return self

    def __exit__(self, *_: object) -> None:
        return None


@pytest.fixture
def leased(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every session's lease is live on some machine (the cluster itself is faked)."""
    from session_roam.engine.lease import api as lease

    monkeypatch.setattr(lease, "shared_by_syncthing", lambda claude_dir=None: True)
    monkeypatch.setattr(lease, "open_engine", lambda claude_dir=None: _NoEngine())
    monkeypatch.setattr(lease, "is_live", lambda session_id, engine=None: True)


@pytest.mark.usefixtures("leased")
def test_merge_refuses_a_session_whose_lease_is_live_with_exit_5(tree: Tree) -> None:
    tree.conflicted_session(SID)

    result = roam("conflicts", "merge", SID)

    _fails_cleanly(result, 5, "being written on another machine")
    assert roam_json("conflicts", "list", "--all")["sessions"]


@pytest.mark.usefixtures("leased")
def test_merge_force_goes_past_a_live_lease(tree: Tree) -> None:
    tree.conflicted_session(SID)

    result = roam("conflicts", "merge", SID, "--force")

    assert result.exit_code == 0, result.output
    assert roam_json("conflicts", "list", "--all")["sessions"] == []


def test_merge_without_syncthing_set_up_needs_no_lease(tree: Tree) -> None:
    tree.conflicted_session(SID)

    assert roam("conflicts", "merge", SID).exit_code == 0


def test_merge_all_repairs_a_take_over_fork_that_made_no_conflict_copy(tree: Tree) -> None:
    data, _late = late_reply_fork()
    path = tree.write(f"{SID}.jsonl", data)
    result = roam("conflicts", "merge", "--all")
    assert result.exit_code == 0, result.output
    assert "take-over branch(es) joined" in result.output
    assert path.read_bytes() != data


def test_list_names_a_take_over_fork_that_made_no_conflict_copy(tree: Tree) -> None:
    data, _late = late_reply_fork()
    tree.write(f"{SID}.jsonl", data)
    result = roam("conflicts", "list", "--all")
    assert result.exit_code == 0, result.output
    assert "0 + take-over fork" in result.output.split(SID)[1]
