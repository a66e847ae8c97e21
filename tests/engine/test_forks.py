"""Recording a take-over's fork point in the session, and finding forks to repair."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from session_roam.engine.conflicts.forks import (
    TAKEOVER_NEEDLE,
    TakeoverScan,
    file_has_fork,
    mark_fork_point,
    mark_stolen_session,
    needs_repair,
)
from session_roam.engine.core.store import find_session_files, syncthing_temp
from session_roam.engine.resume.coordinator import merge_pending
from session_roam.engine.sessions.pick import PickedSession
from session_roam.merge import resume_chain
from session_roam.merge.forks import TAKEOVER_TYPE, takeover_line
from tests.merge.sessions import SessionWriter

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

SID = "5e55a0e0-0000-4000-8000-000000000000"


def _session(tmp_path: Path) -> Path:
    writer = SessionWriter(namespace=1)
    writer.turn(1, "one", [1, 0])
    path = tmp_path / f"{SID}.jsonl"
    path.write_bytes(writer.data())
    return path


def _forked(tmp_path: Path) -> Path:
    path = _session(tmp_path)
    point = resume_chain(path.read_bytes())[-1]
    lines = path.read_bytes().splitlines()
    lines.append(takeover_line(SID, point, "BETA", "2026-12-06T14:02:00.000Z"))
    for namespace in (2, 3):
        writer = SessionWriter(namespace=namespace, lines=lines, tail=point)
        writer.turn(namespace, f"on {namespace}", [0])
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def test_mark_fork_point_appends_one_line_naming_the_resumed_leaf(tmp_path: Path) -> None:
    path = _session(tmp_path)
    before = path.read_bytes()
    point = mark_fork_point(path, SID, "BETA")
    after = path.read_bytes()
    added = json.loads(after[len(before) :])
    assert (after.startswith(before), added["forkPoint"], point) == (
        True,
        resume_chain(before)[-1],
        resume_chain(before)[-1],
    )


def test_mark_fork_point_twice_at_the_same_row_writes_once(tmp_path: Path) -> None:
    path = _session(tmp_path)
    mark_fork_point(path, SID, "BETA")
    once = path.read_bytes()
    mark_fork_point(path, SID, "BETA")
    assert path.read_bytes() == once


def test_mark_fork_point_never_glues_its_line_to_a_torn_tail(tmp_path: Path) -> None:
    path = _session(tmp_path)
    path.write_bytes(path.read_bytes() + b'{"torn":')
    mark_fork_point(path, SID, "BETA")
    assert path.read_bytes().splitlines()[-2] == b'{"torn":'


def test_mark_fork_point_leaves_a_missing_file_missing(tmp_path: Path) -> None:
    missing = tmp_path / f"{SID}.jsonl"
    assert (mark_fork_point(missing, SID, "BETA"), missing.exists()) == (None, False)


def test_mark_fork_point_does_not_follow_a_symlink(tmp_path: Path) -> None:
    target = _session(tmp_path).rename(tmp_path / "elsewhere.jsonl")
    link = tmp_path / f"{SID}.jsonl"
    link.symlink_to(target)
    before = target.read_bytes()
    assert (mark_fork_point(link, SID, "BETA"), target.read_bytes()) == (None, before)


def test_mark_fork_point_writes_nothing_to_a_fifo_planted_as_the_transcript(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / f"{SID}.jsonl"
    os.mkfifo(fifo)
    assert mark_fork_point(fifo, SID, "BETA") is None  # returns: never blocks on it


def test_file_has_fork_sees_two_writers_after_a_take_over(tmp_path: Path) -> None:
    assert file_has_fork(_forked(tmp_path)) is True


def test_file_has_fork_ignores_a_take_over_nobody_raced(tmp_path: Path) -> None:
    path = _session(tmp_path)
    mark_fork_point(path, SID, "BETA")
    assert file_has_fork(path) is False


def test_needs_repair_counts_a_fork_without_any_conflict_copy(tmp_path: Path) -> None:
    _forked(tmp_path)
    files = find_session_files(tmp_path, SID)
    assert (files.has_conflicts, needs_repair(files)) == (False, True)


def test_takeover_needle_matches_the_merges_line_type() -> None:
    line = takeover_line(SID, "point", "BETA", "2026-12-06T14:02:00.000Z")
    assert (TAKEOVER_NEEDLE in line, TAKEOVER_TYPE) == (True, "roam-takeover")


def test_takeover_scan_finds_a_line_split_across_two_looks(tmp_path: Path) -> None:
    path = _session(tmp_path)
    line = takeover_line(SID, "point", "BETA", "2026-12-06T14:02:00.000Z") + b"\n"
    scan = TakeoverScan()
    with path.open("ab") as handle:
        handle.write(line[:12])
    first = scan.took_over(path)
    with path.open("ab") as handle:
        handle.write(line[12:])
    assert (first, scan.took_over(path)) == (False, True)


def test_takeover_scan_starts_again_when_the_file_is_replaced(tmp_path: Path) -> None:
    path = _forked(tmp_path)
    scan = TakeoverScan()
    first = scan.took_over(path)
    replacement = tmp_path / "new.jsonl"
    replacement.write_bytes(b'{"type":"summary"}\n')
    replacement.replace(path)
    assert (first, scan.took_over(path)) == (True, False)


def test_mark_stolen_session_marks_it_in_every_project_that_holds_it(tmp_path: Path) -> None:
    for project in ("-a", "-b"):
        (tmp_path / project).mkdir()
        _session(tmp_path / project)
    points = mark_stolen_session(tmp_path, SID, "BETA")
    marked = [TAKEOVER_NEEDLE in (tmp_path / p / f"{SID}.jsonl").read_bytes() for p in ("-a", "-b")]
    assert (len(points), marked) == (2, [True, True])


def test_mark_stolen_session_writes_nothing_through_a_symlinked_project_folder(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = _session(outside)
    before = target.read_bytes()
    projects = tmp_path / "projects"
    projects.mkdir()
    (projects / "-linked").symlink_to(outside)
    assert (mark_stolen_session(projects, SID, "BETA"), target.read_bytes()) == ([], before)


def test_roam_cr_repairs_a_fork_whose_transcript_syncthing_is_renaming_in(
    tmp_path: Path, clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "-p"
    project.mkdir()
    path = _forked(project)
    # the late turn arrives: Syncthing wrote its temp and removed the old file
    path.rename(syncthing_temp(path))
    monkeypatch.setattr(
        "session_roam.engine.core.store.time.sleep", lambda _s: syncthing_temp(path).rename(path)
    )
    merge_pending(PickedSession(SID, path, None, "id"))
    assert path.exists()
    assert not file_has_fork(path)
