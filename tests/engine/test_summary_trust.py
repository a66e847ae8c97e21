"""A watcher whose summary refresh fails is not trusted: every reader walks (and sees what it
missed) until a later refresh of what it missed succeeds."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from session_roam.engine.conflicts.watch import SessionKey, Watcher
from session_roam.engine.core.paths import projects_dir
from session_roam.engine.sessions import summary_cache, summary_sync
from session_roam.engine.sessions.session_scan import scan_sessions, walk_projects
from session_roam.engine.sessions.summary_cache import SummaryCache, open_cache

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.engine.sessions_fixtures import SessionWriter


def _walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def spy(root: str, projects: object = None, links: object = None) -> object:
        seen.append(root)
        return scan_sessions(root, projects, links)  # type: ignore[arg-type]

    def walk_spy(
        root: str, projects: object = None, links: object = None, trees: object = None
    ) -> object:
        seen.append(root)
        return walk_projects(root, projects, links, trees)  # type: ignore[arg-type]

    monkeypatch.setattr(summary_cache, "scan_sessions", spy)
    monkeypatch.setattr(summary_sync, "walk_projects", walk_spy)
    return seen


def _watching(root: Path) -> Watcher:
    """A watcher of ``root`` that has started: recorded as the cache's watcher, walked once."""
    watcher = Watcher(root, is_live=lambda _session: False)
    watcher._start_summaries()
    return watcher


def _failing(monkeypatch: pytest.MonkeyPatch, failing: list[bool]) -> None:
    """The cache's refresh fails while ``failing[0]`` (the database locked by another writer)."""
    real = SummaryCache.refresh

    def refresh(self: SummaryCache, *args: object, **kwargs: object) -> object:
        if failing[0]:
            raise sqlite3.OperationalError("database is locked")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SummaryCache, "refresh", refresh)


def test_a_started_watcher_is_trusted(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    writer.write(project, [("one", "a")])
    root = projects_dir(config_dir)
    _watching(root)
    with open_cache() as cache:
        assert cache.kept_fresh(str(root))


def test_a_failed_watcher_refresh_makes_every_reader_walk_and_see_the_change(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = writer.write(project, [("one", "a")])
    root = projects_dir(config_dir)
    watcher = _watching(root)
    _failing(monkeypatch, [True])
    writer.append(path, [("missed", "b")])
    watcher._refresh_summary(SessionKey(path.parent.name, path.stem))
    walks = _walks(monkeypatch)
    with open_cache() as cache:
        assert not cache.kept_fresh(str(root))
        _count, _copies, rows = cache.stream(root, trust=True)
        assert [row[8] for row in rows] == ["missed"]
    assert walks == [str(root)]


def test_trust_returns_once_a_later_refresh_of_what_was_missed_succeeds(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = writer.write(project, [("one", "a")])
    root = projects_dir(config_dir)
    watcher = _watching(root)
    failing = [True]
    _failing(monkeypatch, failing)
    writer.append(path, [("missed", "b")])
    watcher._refresh_summary(SessionKey(path.parent.name, path.stem))
    failing[0] = False
    watcher._refresh_summary(SessionKey("", ""))  # the retry at the next check
    walks = _walks(monkeypatch)
    with open_cache() as cache:
        assert cache.kept_fresh(str(root))
        _count, _copies, rows = cache.stream(root, trust=True)
        assert [row[8] for row in rows] == ["missed"]
    assert walks == []


def test_a_watcher_that_cannot_open_the_cache_still_withdraws_trust(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = writer.write(project, [("one", "a")])
    root = projects_dir(config_dir)
    watcher = Watcher(root, is_live=lambda _session: False)
    _watching(root)  # another watcher process started it; this one cannot open the cache

    def broken() -> SummaryCache:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr("session_roam.engine.conflicts.watch.open_cache", broken)
    watcher._refresh_summary(SessionKey(path.parent.name, path.stem))
    with open_cache() as cache:
        assert not cache.kept_fresh(str(root))


def test_a_failed_refresh_drops_the_watchers_connection_so_the_next_try_opens_anew(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = writer.write(project, [("one", "a")])
    watcher = _watching(projects_dir(config_dir))
    _failing(monkeypatch, [True])
    watcher._refresh_summary(SessionKey(path.parent.name, path.stem))
    assert watcher._summaries is None


def test_trust_is_withdrawn_with_an_empty_marker_when_no_temp_file_can_be_written(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(summary_cache, "atomic_write", full)
    summary_cache.withdraw_trust()
    marker = summary_cache.untrusted_path(summary_cache.cache_path())
    assert marker.exists()
    assert marker.stat().st_mode & 0o777 == 0o600
