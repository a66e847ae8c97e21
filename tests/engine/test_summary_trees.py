"""The walk lists a session's sibling folder again only when one of its folders changed (its
mtime moved): a conflict copy or a link that arrives there is still seen by the next walk, and
a folder changed in the last seconds is never taken as unchanged."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.paths import projects_dir
from session_roam.engine.core.store import scandir_entries
from session_roam.engine.sessions import session_scan
from session_roam.engine.sessions.summary_cache import SummaryCache

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter

_COPY = "agent-a.sync-conflict-20261125-131239-MRUWJBM.jsonl"


def _session_with_subagents(writer: SessionWriter, project: Path, *, age_s: float) -> Path:
    """A session whose sibling folder has a ``subagents`` folder, both last changed ``age_s``
    seconds ago; answers the sibling folder."""
    path = writer.write(project, [("one", "a")])
    side = path.parent / path.stem
    (side / "subagents").mkdir(parents=True)
    (side / "subagents" / "agent-a.jsonl").write_text("{}\n")
    then = time.time() - age_s
    for folder in (side / "subagents", side):
        os.utime(folder, (then, then))
    return side


def _trees(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [str(row[0]) for row in conn.execute("SELECT path FROM trees")]


def _listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every folder the walk lists from now on."""
    seen: list[str] = []
    real = scandir_entries

    def spy(folder: Path | str) -> list[os.DirEntry[str]]:
        seen.append(str(folder))
        return real(folder)

    monkeypatch.setattr(f"{session_scan.__name__}.scandir_entries", spy)
    return seen


def _walked_twice(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, *, age_s: float,
) -> tuple[Path, list[str], list[str]]:  # fmt: skip
    """(the sibling folder, the trees kept by a first walk, what a second walk listed)."""
    side = _session_with_subagents(writer, project, age_s=age_s)
    root = projects_dir(config_dir)
    with SummaryCache(tmp_path / "s.sqlite") as cache:
        cache.sync(root)
        kept = _trees(tmp_path / "s.sqlite")
        listed = _listings(monkeypatch)
        cache.sync(root)
    return side, kept, listed


def test_an_unchanged_sibling_folder_is_not_listed_again(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    side, kept, listed = _walked_twice(
        writer, project, config_dir, tmp_path, monkeypatch, age_s=3600
    )
    assert kept == [str(side)]
    assert str(side) not in listed
    assert str(side / "subagents") not in listed


@pytest.fixture
def side(writer: SessionWriter, project: Path) -> Path:
    """A session's sibling folder (with ``subagents``) last changed an hour ago."""
    return _session_with_subagents(writer, project, age_s=3600)


@pytest.fixture
def root(config_dir: Path) -> Path:
    return projects_dir(config_dir)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[SummaryCache]:
    with SummaryCache(tmp_path / "s.sqlite") as opened:
        yield opened


def test_a_conflict_copy_that_arrives_in_a_known_folder_is_counted(
    side: Path, root: Path, cache: SummaryCache
) -> None:
    assert cache.sync(root).copies == {}
    (side / "subagents" / _COPY).write_text("{}\n")
    assert cache.sync(root).copies == {f"{side}.jsonl": 1}


def test_a_link_planted_in_a_known_folder_is_named(
    side: Path, root: Path, cache: SummaryCache
) -> None:
    cache.sync(root, links=[])
    (side / "subagents" / "planted").symlink_to("/etc/passwd")
    first: list[str] = []
    cache.sync(root, links=first)
    again: list[str] = []
    cache.sync(root, links=again)  # from the kept tree this time
    assert first == again == [str(side / "subagents" / "planted")]


def test_a_folder_changed_in_the_last_seconds_is_listed_again(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    side, kept, listed = _walked_twice(writer, project, config_dir, tmp_path, monkeypatch, age_s=0)
    assert kept == []
    assert str(side / "subagents") in listed


def test_a_removed_sibling_folder_is_forgotten(
    side: Path, root: Path, cache: SummaryCache, tmp_path: Path
) -> None:
    cache.sync(root)
    (side / "subagents" / "agent-a.jsonl").unlink()
    (side / "subagents").rmdir()
    side.rmdir()
    cache.sync(root)
    assert _trees(tmp_path / "s.sqlite") == []


def test_the_sibling_folders_of_a_removed_project_are_forgotten(
    side: Path, root: Path, cache: SummaryCache, tmp_path: Path
) -> None:
    cache.sync(root)
    assert _trees(tmp_path / "s.sqlite") == [str(side)]
    shutil.rmtree(side.parent)
    cache.sync(root)
    assert _trees(tmp_path / "s.sqlite") == []


def _an_hour_ago(*folders: Path) -> None:
    then = time.time() - 3600
    for folder in folders:
        os.utime(folder, (then, then))


def test_a_link_whose_name_holds_a_newline_is_named_whole_on_every_walk(
    side: Path, root: Path, cache: SummaryCache
) -> None:
    (side / "subagents" / "evil\nname").symlink_to("/etc/passwd")
    _an_hour_ago(side / "subagents", side)
    walks: list[list[str]] = [[], [], []]
    for links in walks:
        cache.sync(root, links=links)
    assert walks == [[str(side / "subagents" / "evil\nname")]] * 3


def test_a_folder_name_that_is_not_utf8_leaves_the_walk_working(
    side: Path, root: Path, cache: SummaryCache
) -> None:
    odd = side / "subagents" / os.fsdecode(b"caf\xe9")
    odd.mkdir()
    (odd / _COPY).write_text("{}\n")
    _an_hour_ago(odd, side / "subagents", side)
    for _ in range(2):
        assert cache.sync(root).copies == {f"{side}.jsonl": 1}
