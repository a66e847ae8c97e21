"""Temps name their writer, and a sweep removes only those whose writer is gone."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from session_roam.engine.core.atomic import atomic_write
from session_roam.engine.core.temps import (
    STALE_AFTER_S,
    TEMP_PREFIX,
    is_dead_temp,
    sweep_dead_temps,
    temp_prefix,
)
from tests.support.litter import dead_temp_name

if TYPE_CHECKING:
    from pathlib import Path


def _folder(tmp_path: Path) -> Path:
    """An empty folder (``tmp_path`` also holds the test's HOME)."""
    folder = tmp_path / "p"
    folder.mkdir()
    return folder


def test_temp_prefix_names_this_process() -> None:
    assert temp_prefix().startswith(TEMP_PREFIX)
    assert f"-{os.getpid()}-" in temp_prefix()


def test_temp_of_a_live_process_is_not_dead() -> None:
    assert not is_dead_temp(temp_prefix() + "x.tmp", time.time() - 10 * STALE_AFTER_S)


def test_temp_of_an_exited_process_is_dead() -> None:
    assert is_dead_temp(dead_temp_name(), time.time())


def test_temp_of_a_recycled_pid_is_dead() -> None:
    mine = temp_prefix().removeprefix(TEMP_PREFIX).split("-")
    if mine[2] == "0":  # no /proc: start times unknown, a live pid is trusted
        return
    assert is_dead_temp(dead_temp_name(pid=os.getpid(), start=int(mine[2]) + 1), time.time())


def test_unowned_temp_is_dead_only_once_stale() -> None:
    name = f"{TEMP_PREFIX}k2j3h4.tmp"  # the name an older roam gave its temps
    assert not is_dead_temp(name, time.time() - 60)
    assert is_dead_temp(name, time.time() - STALE_AFTER_S - 1)


def test_temp_of_another_host_is_dead_only_once_stale() -> None:
    name = f"{TEMP_PREFIX}00000000-1-1-abc.tmp"
    assert not is_dead_temp(name, time.time() - 60)


def test_files_that_are_not_temps_are_never_dead() -> None:
    assert not is_dead_temp("s.jsonl", 0.0)


def test_sweep_removes_dead_temps_and_keeps_everything_else(tmp_path: Path) -> None:
    tmp_path = _folder(tmp_path)
    dead = tmp_path / dead_temp_name()
    live = tmp_path / (temp_prefix() + "x.tmp")
    session = tmp_path / "s.jsonl"
    for path in (dead, live, session):
        path.write_bytes(b"x")
    assert sweep_dead_temps(tmp_path) == (dead,)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, session.name])


def test_sweep_removes_a_dead_temp_folder_whole(tmp_path: Path) -> None:
    tmp_path = _folder(tmp_path)
    folder = tmp_path / dead_temp_name()
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "a").write_bytes(b"x")
    sweep_dead_temps(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_sweep_never_follows_or_removes_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / dead_temp_name()).write_bytes(b"x")
    inside = tmp_path / "synced"
    inside.mkdir()
    (inside / "link").symlink_to(outside)
    (inside / dead_temp_name()).symlink_to(outside / "x")
    assert sweep_dead_temps(inside, recursive=True) == ()
    assert len(list(outside.iterdir())) == 1


def test_recursive_sweep_reaches_subfolders(tmp_path: Path) -> None:
    nested = tmp_path / "sid" / "subagents"
    nested.mkdir(parents=True)
    (nested / dead_temp_name()).write_bytes(b"x")
    assert len(sweep_dead_temps(tmp_path, recursive=True)) == 1
    assert list(nested.iterdir()) == []


def test_sweep_of_a_missing_folder_removes_nothing(tmp_path: Path) -> None:
    assert sweep_dead_temps(tmp_path / "gone") == ()


def test_atomic_write_removes_a_dead_writers_temp_next_to_its_target(tmp_path: Path) -> None:
    tmp_path = _folder(tmp_path)
    (tmp_path / dead_temp_name()).write_bytes(b"half")
    atomic_write(tmp_path / "s.jsonl", b"line\n")
    assert [p.name for p in tmp_path.iterdir()] == ["s.jsonl"]
