"""A large first build writes with no fsync until it is done, under a durable mark; an index
with the mark of a build that is no longer running, or that ran before a restart, is built
anew. A refresh that another process overtook between two of its transactions starts again."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.paths import projects_dir
from session_roam.engine.sessions import search_extract, search_index
from session_roam.engine.sessions.search_fresh import process_start
from session_roam.engine.sessions.search_index import SearchIndex
from tests.engine.test_search_build import _index_rows

if TYPE_CHECKING:
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/sys/kernel/random/boot_id"), reason="unsynced builds need a boot id"
)


@pytest.fixture
def root(writer: SessionWriter, project: Path, config_dir: Path) -> Path:
    """A projects folder with six sessions."""
    for n in range(6):
        writer.write(project, [(f"prompt {n} about herons", f"answer {n}")])
    return projects_dir(config_dir)


def _built(root: Path, cache: Path) -> tuple[list[tuple[object, ...]], ...]:
    cache.mkdir()
    with SearchIndex(cache / "search.sqlite3") as index:
        index.refresh(root)
    return _index_rows(cache)


def _state(cache: Path) -> dict[str, str]:
    db = sqlite3.connect(cache / "search.sqlite3")
    try:
        return dict(db.execute("SELECT key, value FROM state"))
    finally:
        db.close()


def _mark(cache: Path, value: str) -> None:
    db = sqlite3.connect(cache / "search.sqlite3")
    with db:
        db.execute("INSERT OR REPLACE INTO state VALUES ('building', ?)", (value,))
    db.close()


def test_an_unsynced_first_build_makes_the_index_a_synced_one_makes_and_drops_its_mark(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _built(root, tmp_path / "synced")
    monkeypatch.setattr(search_index, "_UNSYNCED_BYTES", 0)
    marks: list[dict[str, str]] = []
    real = search_extract.extract

    def extract(path: str, start: int) -> object:
        marks.append(_state(tmp_path / "unsynced"))  # read by another connection, mid-build
        return real(path, start)

    monkeypatch.setattr(search_extract, "extract", extract)
    unsynced = _built(root, tmp_path / "unsynced")
    assert unsynced == synced
    assert all("building" in seen for seen in marks)
    assert "building" not in _state(tmp_path / "unsynced")


def _cut_short(root: Path, cache: Path) -> None:
    """In a child process: a first build that commits after every file and dies at its fifth."""
    search_index._UNSYNCED_BYTES = 0
    search_index._COMMIT_BYTES = 1  # type: ignore[misc]
    real = search_extract.extract
    read: list[str] = []

    def extract(path: str, start: int) -> object:
        read.append(path)
        if len(read) == 5:
            os._exit(9)  # as if killed
        return real(path, start)

    search_extract.extract = extract  # type: ignore[assignment]
    SearchIndex(cache / "search.sqlite3").refresh(root)


def test_a_first_build_cut_short_is_built_anew_when_the_index_is_next_opened(
    root: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    child = multiprocessing.get_context("fork").Process(target=_cut_short, args=(root, cache))
    child.start()
    child.join(30)
    assert child.exitcode == 9
    assert _index_rows(cache)[0]  # what it committed before it died is there, marked
    assert "building" in _state(cache)
    with SearchIndex(cache / "search.sqlite3") as index:
        assert index.db.execute("SELECT count(*) FROM files").fetchone()[0] == 0
    whole = _built(root, tmp_path / "whole")
    with SearchIndex(cache / "search.sqlite3") as index:
        index.refresh(root)
    assert _index_rows(cache) == whole


def test_an_index_marked_by_a_build_in_an_earlier_boot_is_built_anew(
    root: Path, tmp_path: Path
) -> None:
    _built(root, tmp_path / "cache")
    _mark(tmp_path / "cache", f"another-boot\t{os.getpid()}\t{process_start(os.getpid())}")
    with SearchIndex(tmp_path / "cache" / "search.sqlite3") as index:
        assert index.db.execute("SELECT count(*) FROM files").fetchone()[0] == 0


def test_an_index_marked_by_a_build_still_running_is_trusted(root: Path, tmp_path: Path) -> None:
    _built(root, tmp_path / "cache")
    _mark(tmp_path / "cache", search_index._builder())  # this process: alive, this boot
    with SearchIndex(tmp_path / "cache" / "search.sqlite3") as index:
        assert index.db.execute("SELECT count(*) FROM files").fetchone()[0] == 6


def _content(cache: Path) -> list[tuple[object, ...]]:
    """Each row's file, time, role and text, whatever ids they were given."""
    db = sqlite3.connect(cache / "search.sqlite3")
    try:
        return sorted(
            db.execute(
                "SELECT files.path, files.indexed_to, rows.ts, rows.role, chunks.text FROM rows"
                " JOIN files ON files.id = rows.file_id JOIN chunks ON chunks.rowid = rows.id"
            )
        )
    finally:
        db.close()


@pytest.mark.parametrize("other_indexes", ["everything", "one file"])
def test_a_refresh_overtaken_between_its_transactions_starts_again(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other_indexes: str
) -> None:
    _built(root, tmp_path / "whole")
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setattr(search_index, "_COMMIT_BYTES", 1)  # a commit after every file
    index = SearchIndex(cache / "search.sqlite3")
    real = index._begin
    begun: list[None] = []

    def begin() -> None:
        begun.append(None)
        if len(begun) == 3:  # between two transactions: another process writes
            with SearchIndex(cache / "search.sqlite3") as other:
                if other_indexes == "everything":
                    other.refresh(root)
                else:  # one the first has not read yet
                    done = {path for (path,) in other.db.execute("SELECT path FROM files")}
                    left = [path for path in root.rglob("*.jsonl") if str(path) not in done]
                    other.refresh_paths(root, left[:1])
        real()

    monkeypatch.setattr(index, "_begin", begin)
    stats = index.refresh(root)
    index.close()
    assert _content(cache) == _content(tmp_path / "whole")
    if other_indexes == "everything":
        assert stats.files_indexed == 0  # its second pass found the other's work done
