"""Readers of the synced folder while Syncthing replaces a file: its absence is not a decision.

A receiver writes ``.syncthing.<name>.tmp``, removes the old file, then renames the temp into
place (``performFinish``). For that moment the file is not on disk at all. These tests play
the sequence at the moment each reader is exposed to it: a merge must not write a file that
is about to be renamed over (nor one it never read), a file missing only for that moment is
not lost, ``roam cr`` does not pass over the newest session for an older one, and a take-over
line goes into the file that stays. The lease's claims: tests/engine/test_claim_files.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from session_roam.engine.conflicts import forks
from session_roam.engine.conflicts import plan as plan_module
from session_roam.engine.conflicts.forks import TAKEOVER_NEEDLE, mark_fork_point
from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.core.backup import create_backup
from session_roam.engine.core.bounded import iter_file_lines
from session_roam.engine.core.paths import claude_config_dir
from session_roam.engine.core.peer_schema import read_state_bytes
from session_roam.engine.core.store import (
    being_replaced,
    find_session_files,
    list_sessions,
    syncthing_temp,
)
from session_roam.engine.deletions.archive import lost_files, refresh_archive
from session_roam.engine.deletions.reassert import held_files
from session_roam.engine.deletions.restore import journaled_only
from session_roam.engine.deletions.tombstones import TOMBSTONES_DIR, apply_tombstones
from session_roam.engine.sessions import pick
from session_roam.engine.sessions.journal import Journal
from session_roam.engine.sessions.pick import pick_session
from session_roam.engine.syncthing.nodeinfo import info_path, publish, read_nodes
from session_roam.errors import MergeError, MergeRaced
from tests.engine.sessiontree import FROM_A, FROM_B, SID, STAMP_A, Tree, row, u

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

T = TypeVar("T")

PICK = "session_roam.engine.sessions.pick"
FORKS = "session_roam.engine.conflicts.forks"
STONES = "session_roam.engine.deletions.tombstones"
NODES = "session_roam.engine.syncthing.nodeinfo"
STORE = "session_roam.engine.core.store"
NEWER = FROM_B + row(u(9), u(4), "arrived meanwhile")
OLDER_ID = "aaaaaaaa-1111-4111-8111-111111111111"
NEWEST_ID = "bbbbbbbb-2222-4222-8222-222222222222"


def _swap_begins(path: Path, new: bytes) -> None:
    """Syncthing has written its temp file of ``path`` and removed the old file."""
    syncthing_temp(path).write_bytes(new)
    path.unlink(missing_ok=True)


def _swap_ends(path: Path) -> None:
    """Syncthing renames its temp file into place."""
    temp = syncthing_temp(path)
    if temp.exists():
        temp.rename(path)


def _finish_swap_on_sleep(monkeypatch: pytest.MonkeyPatch, module: str, path: Path) -> None:
    """The receiver renames its temp into place while the reader waits to look again."""
    monkeypatch.setattr(f"{module}.time.sleep", lambda _seconds: _swap_ends(path))


def _then_swap(
    real: Callable[..., T], path: Path, new: bytes, *, before: bool = False
) -> Callable[..., T]:
    """``real``, after (or ``before``) whose first call the swap of ``path`` begins."""
    calls = 0

    def wrapped(*args: Any, **kwargs: Any) -> T:
        nonlocal calls
        calls += 1
        if before and calls == 1:
            _swap_begins(path, new)
        answer = real(*args, **kwargs)
        if not before and calls == 1:
            _swap_begins(path, new)
        return answer

    return wrapped


@pytest.fixture
def tree(clean_environ: Path) -> Tree:
    return Tree(claude_config_dir())


# -- telling a swap from a removal ------------------------------------------------------------


def test_a_path_with_a_fresh_syncthing_temp_is_being_replaced(tmp_path: Path) -> None:
    path = tmp_path / f"{SID}.jsonl"
    _swap_begins(path, b"new\n")
    assert syncthing_temp(path).name == f".syncthing.{SID}.jsonl.tmp"
    assert being_replaced(path)


def test_a_path_whose_temp_was_left_by_a_failed_pull_long_ago_is_not_being_replaced(
    tmp_path: Path,
) -> None:
    path = tmp_path / f"{SID}.jsonl"
    _swap_begins(path, b"new\n")
    assert not being_replaced(path, now=time.time() + 3600)  # an hour on, nothing renamed


def test_a_temp_syncthing_made_by_renaming_an_older_local_file_is_being_replaced(
    tmp_path: Path,
) -> None:
    path = tmp_path / f"{SID}.jsonl"
    _swap_begins(path, b"new\n")
    os.utime(syncthing_temp(path), (1000, 1000))  # renameFile keeps the old mtime, not ctime
    assert being_replaced(path)


def test_a_temp_stamped_ahead_of_the_clock_is_not_being_replaced(tmp_path: Path) -> None:
    path = tmp_path / f"{SID}.jsonl"
    _swap_begins(path, b"new\n")
    ahead = time.time() + 3600  # left while the clock ran an hour fast
    os.utime(syncthing_temp(path), (ahead, ahead))
    assert not being_replaced(path)


def test_the_temp_of_a_long_name_is_named_by_its_hash_as_syncthing_does(tmp_path: Path) -> None:
    name = "x" * 150 + ".json"
    expected = f".syncthing.{hashlib.sha256(name.encode()).hexdigest()}.tmp"
    assert syncthing_temp(tmp_path / name).name == expected


def test_a_session_read_row_by_row_mid_swap_is_read_once_its_new_version_is_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # iter_file_lines: the cwd of the agent-namespace guard, agent marks, titles, companions
    path = tmp_path / f"{SID}.jsonl"
    _swap_begins(path, FROM_B)
    _finish_swap_on_sleep(monkeypatch, STORE, path)
    assert b"".join(line + b"\n" for line in iter_file_lines(path)) == FROM_B


# -- merging conflict copies ------------------------------------------------------------------


def test_a_merge_does_not_write_a_transcript_syncthing_removed_after_it_was_read(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = tree.conflicted_session()
    real = create_backup

    def backup_then_swap_begins(**kwargs: Any) -> Any:
        made = real(**kwargs)
        _swap_begins(main, NEWER)
        return made

    monkeypatch.setattr(
        "session_roam.engine.conflicts.merging.create_backup", backup_then_swap_begins
    )
    with pytest.raises(MergeError, match=f"{SID}.jsonl changed while roam was merging"):
        merge_session(find_session_files(tree.project(), SID))
    _swap_ends(main)
    assert main.read_bytes() == NEWER
    assert tree.conflict_files() == [f"-tmp-proj/{SID}.sync-conflict-{STAMP_A}.jsonl"]


def test_a_merge_planned_while_the_transcript_was_mid_swap_writes_nothing(tree: Tree) -> None:
    copy = tree.write(f"{SID}.sync-conflict-{STAMP_A}.jsonl", FROM_A)
    main = tree.project() / f"{SID}.jsonl"
    _swap_begins(main, NEWER)  # Syncthing moved the local version aside as the conflict copy
    with pytest.raises(MergeError, match=f"{SID}.jsonl changed while roam was merging"):
        merge_session(find_session_files(tree.project(), SID))
    _swap_ends(main)
    assert (main.read_bytes(), copy.read_bytes()) == (NEWER, FROM_A)


def test_a_merge_planned_mid_swap_never_writes_over_the_version_renamed_in_since(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tree.write(f"{SID}.sync-conflict-{STAMP_A}.jsonl", FROM_A)
    main = tree.project() / f"{SID}.jsonl"
    _swap_begins(main, NEWER)
    real = plan_module.plan_session

    def plan_then_swap_ends(*args: Any, **kwargs: Any) -> Any:
        planned = real(*args, **kwargs)
        _swap_ends(main)
        return planned

    monkeypatch.setattr(plan_module, "plan_session", plan_then_swap_ends)
    with pytest.raises(MergeError, match=f"{SID}.jsonl changed while roam was merging"):
        merge_session(find_session_files(tree.project(), SID))
    assert (main.read_bytes(), copy.read_bytes()) == (NEWER, FROM_A)


def test_a_merge_whose_file_syncthing_replaced_since_the_plan_is_refused_before_any_backup(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = tree.conflicted_session()
    real = plan_module.plan_session

    def plan_then_swap(*args: Any, **kwargs: Any) -> Any:
        planned = real(*args, **kwargs)
        _swap_begins(main, NEWER)
        _swap_ends(main)
        return planned

    def no_backup(**_kwargs: Any) -> Any:
        raise AssertionError("a backup was made for a merge refused before it")

    monkeypatch.setattr(plan_module, "plan_session", plan_then_swap)
    monkeypatch.setattr("session_roam.engine.conflicts.merging.create_backup", no_backup)
    with pytest.raises(MergeRaced, match=f"{SID}.jsonl changed while roam was merging"):
        merge_session(find_session_files(tree.project(), SID))
    assert main.read_bytes() == NEWER


# -- the archive and `roam restore` -----------------------------------------------------------


def test_a_file_missing_only_while_syncthing_renames_its_new_version_in_is_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects, archive = tmp_path / "projects", tmp_path / "archive"
    transcript = projects / "-p" / f"{SID}.jsonl"
    transcript.parent.mkdir(parents=True)
    transcript.write_bytes(FROM_A)
    refresh_archive(projects, archive)
    _swap_begins(transcript, FROM_B)
    assert lost_files(projects, archive) == []
    later = time.time() + 3600  # an hour on and never renamed: a failed pull's temp
    monkeypatch.setattr("session_roam.engine.core.store.time.time", lambda: later)
    assert [lost.relpath for lost in lost_files(projects, archive)] == [f"-p/{SID}.jsonl"]


def test_a_journaled_session_missing_only_mid_swap_is_not_offered_for_restore(
    tmp_path: Path,
) -> None:
    projects = tmp_path / "projects"
    path = projects / "-p" / f"{SID}.jsonl"
    path.parent.mkdir(parents=True)
    journal = Journal()
    journal.record(path, "launch", session_id=SID)
    path.write_bytes(FROM_A)
    journal.record(path, "release", session_id=SID)
    _swap_begins(path, FROM_B)
    assert journaled_only(projects, set()) == []


def test_a_tombstone_applied_while_a_file_of_its_session_is_mid_swap_takes_it_next_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = tmp_path / "projects"
    transcript = projects / "-p" / f"{SID}.jsonl"
    transcript.parent.mkdir(parents=True)
    transcript.write_bytes(FROM_A)
    (projects / TOMBSTONES_DIR).mkdir(parents=True)
    stone = {"schema": "roam.tombstone/1", "session": SID}
    (projects / TOMBSTONES_DIR / f"{SID}.json").write_text(json.dumps(stone))
    walk = _then_swap(lambda *a, **k: list(held_files(*a, **k)), transcript, FROM_B)
    monkeypatch.setattr(f"{STONES}.held_files", walk)
    assert apply_tombstones(projects)[0].paths == ()  # no FileNotFoundError out of `roam watch`
    _swap_ends(transcript)
    assert [removal.paths for removal in apply_tombstones(projects)] == [(f"-p/{SID}.jsonl",)]
    assert not transcript.exists()


def test_a_journal_checkpoint_is_not_set_at_a_session_file_missing_mid_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "projects" / "-p" / f"{SID}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(FROM_A)
    journal = Journal()
    journal.record(path, "launch")
    journal.record(path, "release")
    _swap_begins(path, FROM_B)  # the peers' rows arrive while this node launches again
    _finish_swap_on_sleep(monkeypatch, STORE, path)
    journal.record(path, "launch")
    _swap_ends(path)  # (done already if the launch waited for it)
    # nothing written here since: no peer row may be journaled as this node's own
    assert journal.record(path, "release").appended == 0


# -- which session `roam cr` resumes ----------------------------------------------------------


def _conversation(folder: Path, session_id: str, mtime: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"type": kind, "uuid": f"u-{kind}", "parentUuid": None} for kind in ("user", "assistant")
    ]
    path = folder / f"{session_id}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def here(tmp_path: Path) -> Path:
    """A project folder with an older session and the newest one (NEWEST_ID)."""
    folder = tmp_path / "projects" / "-work-proj"
    _conversation(folder, OLDER_ID, 1000)
    _conversation(folder, NEWEST_ID, 2000)
    return folder


@pytest.mark.parametrize("moment", ["before the listing", "between the listing and its read"])
def test_the_newest_session_mid_swap_is_still_the_one_resumed(
    here: Path, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    newest = here / f"{NEWEST_ID}.jsonl"
    if moment == "before the listing":
        _swap_begins(newest, newest.read_bytes())
    else:
        swap = _then_swap(list_sessions, newest, newest.read_bytes())
        monkeypatch.setattr(f"{PICK}.list_sessions", swap)
    _finish_swap_on_sleep(monkeypatch, PICK, newest)
    assert pick_session(here, here.parent).session_id == NEWEST_ID


def test_a_session_being_delivered_for_the_first_time_delays_the_pick_only_boundedly(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    newest = here / f"{NEWEST_ID}.jsonl"
    _swap_begins(newest, b"{}\n")  # a new file on its way: no old one, the temp being written
    monkeypatch.setattr(pick, "SWAP_WAIT_S", 0.02)
    assert pick_session(here, here.parent).session_id == OLDER_ID


def test_a_conflict_copy_on_its_way_never_delays_the_pick(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_sleep(_seconds: float) -> None:
        raise AssertionError("a conflict copy's temp is not the newest session arriving")

    copy = here / f"{OLDER_ID}.sync-conflict-20261207-010203-ABCDEFG.jsonl"
    _swap_begins(copy, b"{}\n")
    monkeypatch.setattr(f"{PICK}.time.sleep", no_sleep)
    assert pick_session(here, here.parent).session_id == NEWEST_ID


# -- what verify reads of the peers' node files -----------------------------------------------


def test_a_node_file_replaced_between_the_listing_and_its_read_is_read_not_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
    publish(tmp_path, device_id=device, name="alpha", syncthing_version="v1", claude="2.0")
    path = info_path(tmp_path, device)
    swap = _then_swap(read_state_bytes, path, path.read_bytes(), before=True)
    monkeypatch.setattr(f"{NODES}.read_state_bytes", swap)
    _finish_swap_on_sleep(monkeypatch, STORE, path)
    found = read_nodes(tmp_path)[device]
    assert (found.error, found.info is not None) == ("", True)


# -- the take-over line -----------------------------------------------------------------------


def _mark_while_syncthing_swaps(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, seam: str, tmp_path: Path
) -> tuple[Path, Path]:
    """``mark_fork_point`` with Syncthing's swap beginning after its first call of ``seam``;
    the transcript, and a link to the version it replaced."""
    main = tree.write(f"{SID}.jsonl", FROM_B)
    old = tmp_path / "replaced-version"
    os.link(main, old)
    monkeypatch.setattr(f"{FORKS}.{seam}", _then_swap(getattr(forks, seam), main, NEWER))
    _finish_swap_on_sleep(monkeypatch, FORKS, main)
    assert mark_fork_point(main, SID, "BETA") is not None
    return main, old


def test_a_take_over_line_goes_into_the_version_syncthing_renamed_in_after_the_read(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    main, _old = _mark_while_syncthing_swaps(tree, monkeypatch, "_read_all", tmp_path)
    assert main.read_bytes().startswith(NEWER)
    assert TAKEOVER_NEEDLE in main.read_bytes()


def test_a_take_over_line_is_not_written_to_a_version_replaced_after_the_read(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _main, old = _mark_while_syncthing_swaps(tree, monkeypatch, "_read_all", tmp_path)
    assert old.read_bytes() == FROM_B


def test_a_take_over_line_goes_into_the_version_syncthing_renamed_in_after_the_write(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    main, _old = _mark_while_syncthing_swaps(tree, monkeypatch, "_append", tmp_path)
    assert main.read_bytes().startswith(NEWER)
    assert main.read_bytes().count(TAKEOVER_NEEDLE) == 1
