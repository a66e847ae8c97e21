"""A large index build parses in worker processes while one writer inserts: same index."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from session_roam.engine.core.paths import projects_dir
from session_roam.engine.sessions import search_extract
from session_roam.engine.sessions.search import search_sessions

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.engine.sessions_fixtures import SessionWriter


def _index_rows(cache: Path) -> tuple[list[tuple[object, ...]], ...]:
    import sqlite3

    db = sqlite3.connect(cache / "search.sqlite3")
    try:
        files = db.execute(
            "SELECT id, path, project, session_id, cwd, title, size, indexed_to, head_hash,"
            " tail_hash FROM files ORDER BY id"
        ).fetchall()
        rows = db.execute("SELECT id, file_id, ts, role FROM rows ORDER BY id").fetchall()
        chunks = db.execute("SELECT rowid, text FROM chunks ORDER BY rowid").fetchall()
    finally:
        db.close()
    return files, rows, chunks


def test_a_build_in_worker_processes_makes_the_index_an_inline_build_makes(
    writer: SessionWriter,
    project: Path,
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(12):
        writer.write(project, [(f"prompt {n} about herons", f"answer {n}"), ("more", "text")])
    root = projects_dir(config_dir)
    inline, pooled = tmp_path / "inline", tmp_path / "pooled"
    inline.mkdir()
    pooled.mkdir()
    found = search_sessions(["herons"], projects_root=root, cache_dir=inline, limit=50)
    monkeypatch.setattr(search_extract, "_POOL_BYTES", 0)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    readers = tmp_path / "readers"
    real = search_extract.extract

    def extract(path: str, start: int) -> object:
        with readers.open("a") as log:  # a worker's pid, written from the worker
            log.write(f"{os.getpid()}\n")
        return real(path, start)

    monkeypatch.setattr(search_extract, "extract", extract)
    again = search_sessions(["herons"], projects_root=root, cache_dir=pooled, limit=50)
    assert [m.as_json() for m in again.matches] == [m.as_json() for m in found.matches]
    assert _index_rows(pooled) == _index_rows(inline)
    assert str(os.getpid()) not in readers.read_text().split()


def test_a_build_whose_worker_is_killed_reads_the_rest_itself(
    writer: SessionWriter,
    project: Path,
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = [writer.write(project, [(f"prompt {n} about herons", "ok")]) for n in range(6)]
    root = projects_dir(config_dir)
    inline, pooled = tmp_path / "inline", tmp_path / "pooled"
    inline.mkdir()
    pooled.mkdir()
    search_sessions(["herons"], projects_root=root, cache_dir=inline, limit=50)
    parent = os.getpid()
    real = search_extract.extract

    def extract(path: str, start: int) -> object:
        if os.getpid() != parent and path == str(made[3]):
            os._exit(9)  # as if the OOM killer took this worker
        return real(path, start)

    monkeypatch.setattr(search_extract, "extract", extract)
    monkeypatch.setattr(search_extract, "_POOL_BYTES", 0)
    monkeypatch.setattr(search_extract, "_BATCH_BYTES", 1)  # one file a batch
    monkeypatch.setattr(search_extract, "_WAIT_S", 1.0)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    found = search_sessions(["herons"], projects_root=root, cache_dir=pooled, limit=50)
    assert len(found.matches) == len(made)
    assert _index_rows(pooled) == _index_rows(inline)
