"""A session's companions (todos, plans, file history, tasks) travel in its own folder.

``carry`` copies this machine's files into ``<session>/roam-companions/`` after claude exits;
``place`` copies what travelled to where Claude Code reads it before claude starts.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.store import syncthing_temp
from session_roam.engine.travel.carry import (
    carry,
    carry_for_hook,
    companions_around,
    place,
    place_for_hook,
)
from session_roam.engine.travel.kinds import carried_dir, plan_slugs

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.travel.carry import Carried
    from tests.engine.sessions_fixtures import SessionWriter


def _with_slug(path: Path, slug: str) -> None:
    rows = [json.loads(line) for line in path.read_bytes().splitlines()]
    rows[0]["slug"] = slug
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows))


def _companions(config: Path, sid: str) -> dict[str, bytes]:
    """Every companion file the client would have written for session ``sid``."""
    files = {
        f"file-history/{sid}/0123456789abcdef@v1": b"original text\n",
        f"file-history/{sid}/0123456789abcdef@v2": b"edited text\n",
        f"tasks/{sid}/1.json": b'{"id": "1", "subject": "a task"}',
        f"tasks/{sid}/.highwatermark": b"1",
        f"todos/{sid}-agent-{sid}.json": b'[{"content": "write tests"}]',
        "plans/bright-pelican.md": b"# The plan\n\n1. do it\n",
    }
    for name, data in files.items():
        (config / name).parent.mkdir(parents=True, exist_ok=True)
        (config / name).write_bytes(data)
    return files


@pytest.fixture
def session(writer: SessionWriter, project: Path) -> Path:
    path = writer.write(project, [("plan the migration", "ok")])
    _with_slug(path, "bright-pelican")
    return path


def _other_machine(tmp_path: Path, session: Path, config: Path) -> tuple[Path, Path]:
    """A second config folder holding only the session and its sibling folder (as sync left it)."""
    there = tmp_path / "there"
    moved = there / "projects" / session.parent.name / session.name
    moved.parent.mkdir(parents=True)
    shutil.copy2(session, moved)
    shutil.copytree(session.with_suffix(""), moved.with_suffix(""))
    return there, moved


def _handed_over(session: Path, config: Path, tmp_path: Path) -> tuple[Path, Path]:
    """This machine's companions carried out, and the session as another machine receives it."""
    _companions(config, session.stem)
    carry(session, config, session.stem)
    return _other_machine(tmp_path, session, config)


def _plan_edited_there(
    session: Path, config_dir: Path, tmp_path: Path, theirs: bytes, mine: bytes | None = None
) -> Carried:
    """Hand the session to another machine, which edits the plan (``theirs``) and hands it
    back; this machine, meanwhile, wrote ``mine`` (when given). Returns this machine's place."""
    _companions(config_dir, session.stem)
    carry(session, config_dir, session.stem)
    there, moved = _other_machine(tmp_path, session, config_dir)
    place(moved, there, session.stem)
    (there / "plans" / "bright-pelican.md").write_bytes(theirs)
    carry(moved, there, session.stem)
    if mine is not None:
        (config_dir / "plans" / "bright-pelican.md").write_bytes(mine)
    shutil.copytree(moved.with_suffix(""), session.with_suffix(""), dirs_exist_ok=True)
    return place(session, config_dir, session.stem)


def test_the_plan_slug_is_read_from_the_session_rows(session: Path) -> None:
    assert plan_slugs(session) == {"bright-pelican"}


def test_a_slug_key_inside_a_tool_input_is_not_the_sessions_plan(
    writer: SessionWriter, project: Path
) -> None:
    path = writer.write(project, [("hello", "ok")])
    nested = {"type": "assistant", "message": {"content": [{"input": {"slug": "not-a-plan"}}]}}
    path.write_bytes(path.read_bytes() + json.dumps(nested).encode() + b"\n")
    assert plan_slugs(path) == frozenset()


def test_carry_copies_every_companion_of_the_session_into_its_folder(
    session: Path, config_dir: Path
) -> None:
    files = _companions(config_dir, session.stem)
    (config_dir / "plans" / "someone-else.md").write_bytes(b"not this session's")
    done = carry(session, config_dir, session.stem)
    carried = carried_dir(session)
    assert len(done.copied) == len(files)
    assert (carried / "plans" / "bright-pelican.md").read_bytes() == files[
        "plans/bright-pelican.md"
    ]
    assert not (carried / "plans" / "someone-else.md").exists()
    assert (carried / "file-history" / "0123456789abcdef@v2").stat().st_mode & 0o777 == 0o600


def test_place_on_another_machine_gives_every_companion_byte_for_byte(
    session: Path, config_dir: Path, tmp_path: Path
) -> None:
    files = _companions(config_dir, session.stem)
    carry(session, config_dir, session.stem)
    there, moved = _other_machine(tmp_path, session, config_dir)
    place(moved, there, session.stem)
    for name, data in files.items():
        assert (there / name).read_bytes() == data, name
        assert (there / name).stat().st_mode & 0o777 == 0o600


def test_a_stale_local_copy_is_replaced_by_the_travelled_one(
    session: Path, config_dir: Path, tmp_path: Path
) -> None:
    done = _plan_edited_there(session, config_dir, tmp_path, b"# The plan, v2\n")
    assert (config_dir / "plans" / "bright-pelican.md").read_bytes() == b"# The plan, v2\n"
    assert done.joined == []


def test_a_plan_edited_on_two_machines_keeps_both_texts(
    session: Path, config_dir: Path, tmp_path: Path
) -> None:
    done = _plan_edited_there(session, config_dir, tmp_path, b"# Their plan\n", b"# My plan\n")
    text = (config_dir / "plans" / "bright-pelican.md").read_bytes()
    assert b"# My plan" in text
    assert b"# Their plan" in text
    assert done.joined == ["plans/bright-pelican.md"]


def test_a_companion_edited_here_only_is_kept_and_carried_next(
    session: Path, config_dir: Path
) -> None:
    _companions(config_dir, session.stem)
    carry(session, config_dir, session.stem)
    task = config_dir / "tasks" / session.stem / "1.json"
    task.write_bytes(b'{"id": "1", "status": "completed"}')
    place(session, config_dir, session.stem)
    place(session, config_dir, session.stem)  # as when claude died before a carry
    assert task.read_bytes() == b'{"id": "1", "status": "completed"}'
    carry(session, config_dir, session.stem)
    carried = carried_dir(session) / "tasks" / "1.json"
    assert carried.read_bytes() == task.read_bytes()


def test_a_link_in_the_carried_folder_is_never_followed(
    session: Path, config_dir: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"private")
    plans = carried_dir(session) / "plans"
    plans.mkdir(parents=True)
    os.symlink(secret, plans / "bright-pelican.md")
    done = place(session, config_dir, session.stem)
    assert not (config_dir / "plans" / "bright-pelican.md").exists()
    assert done.copied == []


def test_a_carried_folder_that_is_a_link_is_not_read(
    session: Path, config_dir: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere" / "plans"
    elsewhere.mkdir(parents=True)
    (elsewhere / "bright-pelican.md").write_bytes(b"from outside")
    session.with_suffix("").mkdir()
    os.symlink(elsewhere.parent, carried_dir(session))
    place(session, config_dir, session.stem)
    assert not (config_dir / "plans").exists()


def test_names_that_are_not_companions_are_neither_carried_nor_placed(
    session: Path, config_dir: Path
) -> None:
    history = config_dir / "file-history" / session.stem
    history.mkdir(parents=True)
    (history / "not-a-snapshot").write_bytes(b"x")
    carried = carried_dir(session) / "file-history"
    carried.mkdir(parents=True)
    (carried / "..evil").write_bytes(b"x")
    assert carry(session, config_dir, session.stem).copied == []
    assert place(session, config_dir, session.stem).copied == []


def test_companions_are_carried_even_when_the_run_fails(session: Path, config_dir: Path) -> None:
    _companions(config_dir, session.stem)
    warnings: list[str] = []
    with (
        pytest.raises(RuntimeError),
        companions_around(session, config_dir, session.stem, warnings.append),
    ):
        raise RuntimeError("claude crashed")
    assert (carried_dir(session) / "tasks" / "1.json").exists()
    assert warnings == []


def test_with_plain_claude_and_roams_hooks_companions_go_out_and_come_back(
    session: Path, config_dir: Path, tmp_path: Path
) -> None:
    files = _companions(config_dir, session.stem)
    carry_for_hook(session, session.stem, print)  # the keeper, when claude is gone
    there, moved = _other_machine(tmp_path, session, config_dir)
    place_for_hook(moved, session.stem, print)  # SessionStart on the other machine
    assert {name: (there / name).read_bytes() for name in files} == files


def test_the_hook_leaves_placing_to_roam_cr_when_cr_launched_claude(
    session: Path, config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    there, moved = _handed_over(session, config_dir, tmp_path)
    monkeypatch.setenv("ROAM_CR_SESSION", session.stem)
    place_for_hook(moved, session.stem, print)
    assert not (there / "tasks").exists()


def test_carried_companions_are_files_of_the_session_for_the_deletion_policy(
    session: Path, config_dir: Path
) -> None:
    from session_roam.engine.deletions.reassert import held_files
    from session_roam.engine.deletions.tombstones import session_paths

    _companions(config_dir, session.stem)
    carry(session, config_dir, session.stem)
    projects = session.parent.parent
    carried = f"{session.parent.name}/{session.stem}/roam-companions/tasks/1.json"
    assert carried in set(held_files(projects))  # protected, archived, given back
    assert carried in session_paths(projects, session.stem)  # removed with it by `roam rm`


def test_a_plan_both_machines_carried_while_apart_keeps_both_after_the_merge(
    session: Path, config_dir: Path
) -> None:
    from session_roam.engine.conflicts.merging import merge_session
    from session_roam.engine.core.store import find_session_files

    plans = carried_dir(session) / "plans"
    plans.mkdir(parents=True)
    (plans / "bright-pelican.md").write_bytes(b"# Plan written on alpha\n")
    loser = plans / "bright-pelican.sync-conflict-20261206-101010-ABCDEFG.md"
    loser.write_bytes(b"# Plan written on beta\n")
    merge_session(find_session_files(session.parent, session.stem))  # what cr does first
    place(session, config_dir, session.stem)
    text = (config_dir / "plans" / "bright-pelican.md").read_bytes()
    assert b"# Plan written on alpha" in text
    assert b"# Plan written on beta" in text
    place(session, config_dir, session.stem)  # folded once, not again
    assert (config_dir / "plans" / "bright-pelican.md").read_bytes() == text


def test_place_and_carry_write_no_state_when_nothing_changed(
    session: Path, config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What roam last placed or carried is rewritten (and fsynced) only when it changed: the
    second round over the same companions leaves the state file as it was (issue 16)."""
    from session_roam.engine.core import xdg

    _companions(config_dir, session.stem)
    carry(session, config_dir, session.stem)
    place(session, config_dir, session.stem)
    (state,) = (xdg.state_dir() / "companions").glob(f"*/{session.stem}.json")
    before = state.stat().st_mtime_ns
    os.utime(state, ns=(before - 10**9, before - 10**9))
    place(session, config_dir, session.stem)
    carry(session, config_dir, session.stem)
    assert state.stat().st_mtime_ns == before - 10**9
    (config_dir / "plans" / "bright-pelican.md").write_bytes(b"# The plan, edited\n")
    carry(session, config_dir, session.stem)
    assert state.stat().st_mtime_ns != before - 10**9


def test_a_companion_syncthing_is_renaming_in_is_placed_once_it_is_there(
    session: Path, config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    there, moved = _handed_over(session, config_dir, tmp_path)
    place(moved, there, session.stem)
    carried = carried_dir(moved) / "plans" / "bright-pelican.md"
    # the plan's next version is arriving: Syncthing wrote its temp, removed the old file
    syncthing_temp(carried).write_bytes(b"# The plan, v2\n")
    carried.unlink()
    monkeypatch.setattr(
        "session_roam.engine.core.store.time.sleep",
        lambda _s: syncthing_temp(carried).rename(carried),
    )
    place(moved, there, session.stem)
    assert (there / "plans" / "bright-pelican.md").read_bytes() == b"# The plan, v2\n"
