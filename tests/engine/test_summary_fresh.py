"""The summary cache without its walk: trusted only while a live ``roam watch`` of the same
folder has kept it current since the last full walk; otherwise every reader walks, and what
changed is seen."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Any

from session_roam.engine.core.paths import projects_dir
from session_roam.engine.sessions.session_scan import scan_sessions, walk_projects
from session_roam.engine.sessions.summary_cache import SummaryCache
from session_roam.engine.sessions.summary_fresh import cached_scan

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.engine.sessions_fixtures import SessionWriter

_SCAN = "session_roam.engine.sessions.summary_cache.scan_sessions"
#: ``sync`` (the rows brought up to date, then asked in SQL) walks one project at a time.
_WALK = "session_roam.engine.sessions.summary_sync.walk_projects"


def _cache(tmp_path: Path) -> SummaryCache:
    return SummaryCache(tmp_path / "summaries.sqlite")


def _walks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """Every walk the cache makes from now on."""
    seen: list[tuple[str, object]] = []

    def spy(
        root: str, projects: tuple[str, ...] | None = None, links: list[str] | None = None
    ) -> object:
        seen.append((root, projects))
        return scan_sessions(root, projects, links)

    def walk_spy(
        root: str,
        projects: tuple[str, ...] | None = None,
        links: list[str] | None = None,
        trees: Any = None,
    ) -> object:
        seen.append((root, projects))
        return walk_projects(root, projects, links, trees)

    monkeypatch.setattr(_SCAN, spy)
    monkeypatch.setattr(_WALK, walk_spy)
    return seen


def _watch_then_walk(cache: SummaryCache, root: Path, session: Path) -> None:
    """This process watches ``root`` (it refreshed a project it saw change); then a full walk."""
    cache.refresh(root, (session.parent.name,), watcher=True)
    cache.refresh(root)


def _walks_of_a_trusted_read(
    cache: SummaryCache, root: Path, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, object]]:
    walks = _walks(monkeypatch)
    cache.refresh(root, trust=True)
    return walks


def _watched_by_a_dead_process(db: Path, root: Path, project: str) -> None:
    """A watcher that refreshed the cache once, then exited."""
    script = (
        "import sys; from pathlib import Path\n"
        "from session_roam.engine.sessions.summary_cache import SummaryCache\n"
        "with SummaryCache(Path(sys.argv[1])) as c:\n"
        "    c.refresh(Path(sys.argv[2]), (sys.argv[3],), watcher=True)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(db), str(root), project], check=True)


def test_a_cache_a_live_watcher_keeps_is_read_without_a_walk(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    root = projects_dir(config_dir)
    path = writer.write(project, [("one", "a")])
    with _cache(tmp_path) as cache:
        _watch_then_walk(cache, root, path)
        walks = _walks(monkeypatch)
        rows = cache.refresh(root, trust=True).rows
        count, _copies, streamed = cache.stream(root, trust=True)
        assert [r.first_prompt for r in rows] == ["one"]
        assert (count, [r[7] for r in streamed]) == (1, ["one"])
    assert walks == []


def test_what_the_watcher_refreshed_is_what_a_trusted_reader_sees(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    root = projects_dir(config_dir)
    path = writer.write(project, [("one", "a")])
    gone = writer.write(project, [("two", "b")])
    with _cache(tmp_path) as cache:
        _watch_then_walk(cache, root, path)
        writer.append(path, [("one more", "c")])
        gone.unlink()
        cache.refresh(root, (path.parent.name,), watcher=True)  # the watcher hears both
        walks = _walks(monkeypatch)
        rows = cache.refresh(root, trust=True).rows
    assert [(r.first_prompt, r.last_prompt) for r in rows] == [("one", "one more")]
    assert walks == []


def test_a_dead_watcher_is_not_trusted_and_a_change_is_seen(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    root = projects_dir(config_dir)
    path = writer.write(project, [("one", "a")])
    db = tmp_path / "summaries.sqlite"
    _watched_by_a_dead_process(db, root, path.parent.name)
    with SummaryCache(db) as cache:
        cache.refresh(root)  # a full walk after the (now dead) watcher began
        writer.append(path, [("changed unwatched", "b")])
        walks = _walks(monkeypatch)
        (row,) = cache.refresh(root, trust=True).rows
        _count, _copies, streamed = cache.stream(root, trust=True)
        assert [r[8] for r in streamed] == ["changed unwatched"]
    assert row.last_prompt == "changed unwatched"
    assert len(walks) == 2


def test_a_file_changed_while_no_watcher_ran_is_seen(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path
) -> None:
    root = projects_dir(config_dir)
    path = writer.write(project, [("one", "a")])
    with _cache(tmp_path) as cache:
        cache.refresh(root)
        writer.append(path, [("later", "b")])
        added = writer.write(project, [("new", "c")])
        (row, new) = sorted(cache.refresh(root, trust=True).rows, key=lambda r: r.path != str(path))
    assert (row.last_prompt, new.path) == ("later", str(added))


def test_a_watcher_that_began_after_the_last_walk_is_not_trusted(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    root = projects_dir(config_dir)
    path = writer.write(project, [("one", "a")])
    with _cache(tmp_path) as cache:
        cache.refresh(root)  # the walk: before the watcher, what changed since is unknown
        cache.refresh(root, (path.parent.name,), watcher=True)
        assert _walks_of_a_trusted_read(cache, root, monkeypatch) == [(str(root), None)]


def test_a_watcher_of_another_folder_is_not_trusted(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    root = projects_dir(config_dir)
    path = writer.write(project, [("one", "a")])
    other = tmp_path / "other"
    other.mkdir()
    with _cache(tmp_path) as cache:
        cache.refresh(other, (path.parent.name,), watcher=True)
        cache.refresh(root)
        assert _walks_of_a_trusted_read(cache, root, monkeypatch) == [(str(root), None)]


def test_without_trust_a_reader_walks_even_with_a_live_watcher(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    root = projects_dir(config_dir)
    path = writer.write(project, [("one", "a")])
    with _cache(tmp_path) as cache:
        _watch_then_walk(cache, root, path)
        walks = _walks(monkeypatch)
        cache.refresh(root, (path.parent.name,))  # a hook's refresh: it knows a file changed
    assert walks == [(str(root), (path.parent.name,))]


def test_the_cache_answers_what_the_walk_finds_conflict_copies_included(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path
) -> None:
    root = projects_dir(config_dir)
    main = writer.write(project, [("one", "a")])
    (main.parent / f"{main.stem}.sync-conflict-20260301-101010-ABCDEFG.jsonl").write_bytes(b"")
    orphan = "0b8a3c1e-1111-4222-8333-944455556666"
    (main.parent / f"{orphan}.sync-conflict-20260301-101010-ABCDEFG.jsonl").write_bytes(b"")
    writer.write(project, [("two", "b")])
    with _cache(tmp_path) as cache:
        cache.refresh(root)
        found = cached_scan(cache._db, str(root), None)
    assert found == scan_sessions(str(root))
    assert {
        (s.session_id, s.conflict_copies, s.main_exists) for s in found if s.conflict_copies
    } == {
        (main.stem, 1, True),
        (orphan, 1, False),
    }


def test_a_project_refresh_drops_a_removed_session(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path
) -> None:
    root = projects_dir(config_dir)
    gone = writer.write(project, [("one", "a")])
    writer.write(project, [("two", "b")])
    with _cache(tmp_path) as cache:
        cache.refresh(root)
        gone.unlink()
        rows = cache.refresh(root, (gone.parent.name,)).rows
    assert [r.first_prompt for r in rows] == ["two"]


def test_ls_and_cs_read_a_watched_cache_without_a_walk(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from session_roam.engine.sessions.pathmap import PathMap
    from session_roam.engine.sessions.summary_cache import open_cache
    from session_roam.engine.sessions.summary_list import list_summaries, stream_summaries

    path = writer.write(project, [("one", "a")])
    with open_cache() as cache:
        _watch_then_walk(cache, projects_dir(config_dir), path)
    walks = _walks(monkeypatch)
    listed = list_summaries(config_dir, PathMap(), cwd=None)
    count, streamed = stream_summaries(config_dir, PathMap())
    assert [s.first_prompt for s in listed] == [s.first_prompt for s in streamed] == ["one"]
    assert (count, walks) == (1, [])


def test_a_cache_of_the_previous_schema_keeps_its_rows(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import sqlite3

    root = projects_dir(config_dir)
    writer.write(project, [("one", "a")])
    with _cache(tmp_path) as cache:
        cache.refresh(root)
    db = sqlite3.connect(tmp_path / "summaries.sqlite")
    db.executescript("DROP TABLE copies; DROP INDEX summary_time; PRAGMA user_version = 4;")
    db.close()
    reads = []
    monkeypatch.setattr(
        "session_roam.engine.sessions.summary_cache.read_into",
        lambda *args: reads.append(args),
    )
    with _cache(tmp_path) as cache:
        assert [r.first_prompt for r in cache.refresh(root).rows] == ["one"]
    assert reads == []


def test_a_watched_verify_finds_a_session_left_with_conflict_copies_only(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from session_roam.engine.sessions.pathmap import PathMap
    from session_roam.engine.sessions.summary_cache import open_cache
    from session_roam.engine.verify.sessions_check import read_sessions

    root = projects_dir(config_dir)
    path = writer.write(project, [("one", "a")])
    orphan = "0b8a3c1e-1111-4222-8333-944455556666"
    copy = path.parent / f"{orphan}.sync-conflict-20260301-101010-ABCDEFG.jsonl"
    copy.write_bytes(writer.rows(orphan, str(project), [("lost", "b")]))
    with open_cache() as cache:
        _watch_then_walk(cache, root, path)
    walks = _walks(monkeypatch)
    read = read_sessions(root, PathMap())
    assert [files.session_id for files in read.pending] == [orphan]
    assert walks == []


def test_a_watched_verify_still_names_the_links_in_the_folder(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from session_roam.engine.sessions.pathmap import PathMap
    from session_roam.engine.sessions.summary_cache import open_cache
    from session_roam.engine.verify.sessions_check import read_sessions

    root = projects_dir(config_dir)
    path = writer.write(project, [("one", "a")])
    (path.parent / "planted").symlink_to("/etc/passwd")
    with open_cache() as cache:
        _watch_then_walk(cache, root, path)
    walks = _walks(monkeypatch)
    links: list[str] = []
    read_sessions(root, PathMap(), links=links)
    assert links == [str(path.parent / "planted")]
    assert walks == []
