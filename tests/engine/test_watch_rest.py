"""``roam watch`` at rest: no walk of the folder and no heal pass without an event; an event
brings the heal pass, the summary row up to date, and the heartbeat says the watch runs."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from session_roam.engine.conflicts import watch as watch_module
from session_roam.engine.conflicts.heartbeat import (
    STALE_AFTER_S,
    beat,
    read_beats,
    stop_beating,
)
from session_roam.engine.conflicts.watch import SessionKey, Watcher
from session_roam.engine.core.paths import projects_dir
from session_roam.engine.sessions.summary_cache import open_cache
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from pathlib import Path

    import pytest

    from tests.engine.sessions_fixtures import SessionWriter


class _Running:
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.thread = threading.Thread(target=watcher.run)

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self.watcher

    def __exit__(self, *_exc: object) -> None:
        self.watcher.stop()
        self.thread.join(timeout=10)


def _running(watcher: Watcher) -> AbstractContextManager[Watcher]:
    return _Running(watcher)


def _counting_watcher(projects: Path, heals: list[float], *, check_s: float) -> Watcher:
    return Watcher(
        projects,
        is_live=lambda _s: False,
        debounce_s=0.1,
        on_rescan=lambda: heals.append(time.monotonic()),
        check_s=check_s,
    )


def test_watch_at_rest_walks_nothing_and_heals_nothing_after_its_start(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer.write(project, [("q", "a")])
    heals: list[float] = []
    walks: list[int] = []
    real = watch_module.pending_sessions  # type: ignore[attr-defined]

    def counting(*args: Any, **kwargs: Any) -> Any:
        walks.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(watch_module, "pending_sessions", counting)
    with _running(_counting_watcher(projects_dir(config_dir), heals, check_s=0.2)):
        wait_until(lambda: len(heals) == 1, timeout_s=10, what="the first heal pass")
        time.sleep(1.5)  # seven checks: none may walk or heal
    assert (len(heals), len(walks)) == (1, 1)


def test_a_file_event_brings_the_heal_pass_at_the_next_check(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    path = writer.write(project, [("q", "a")])
    heals: list[float] = []
    with _running(_counting_watcher(projects_dir(config_dir), heals, check_s=0.2)):
        wait_until(lambda: len(heals) == 1, timeout_s=10, what="the first heal pass")
        time.sleep(0.3)
        writer.append(path, [("again", "b")])
        wait_until(lambda: len(heals) == 2, timeout_s=10, what="a heal pass after the event")


def test_watch_keeps_the_summary_cache_current(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    path = writer.write(project, [("first", "a")])
    projects = projects_dir(config_dir)
    with _running(_counting_watcher(projects, [], check_s=0.2)):
        time.sleep(0.5)
        writer.append(path, [("second", "b")])

        def cached_last() -> str | None:
            with open_cache() as cache:
                rows = cache._db.execute(  # read the rows as stored, without refreshing them
                    "SELECT last_prompt FROM summary WHERE session_id = ?", (path.stem,)
                ).fetchall()
            return rows[0][0] if rows else None

        wait_until(lambda: cached_last() == "second", timeout_s=10, what="the cached row")


def test_on_change_hears_the_session_a_write_touched(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    path = writer.write(project, [("first", "a")])
    changed: list[SessionKey] = []
    projects = projects_dir(config_dir)
    watcher = Watcher(projects, is_live=lambda _s: False, debounce_s=0.1, on_change=changed.append)
    with _running(watcher):
        time.sleep(0.5)
        writer.append(path, [("second", "b")])
        wait_until(
            lambda: SessionKey(path.parent.name, path.stem) in changed, timeout_s=10, what="change"
        )


def test_heartbeat_says_a_watch_runs_until_it_stops_or_goes_stale(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    projects.mkdir()
    beat(projects, "AAAAAAA", now=1000.0)
    found = read_beats(projects)["AAAAAAA"]
    assert found.running(now=1000.0 + STALE_AFTER_S)
    assert not found.running(now=1000.0 + STALE_AFTER_S + 1)
    stop_beating(projects, "AAAAAAA")
    assert read_beats(projects) == {}


def test_a_started_watch_is_trusted_by_the_summary_cache_before_any_event(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    writer.write(project, [("q", "a")])
    projects = projects_dir(config_dir)
    heals: list[float] = []
    with _running(_counting_watcher(projects, heals, check_s=0.2)):
        wait_until(lambda: len(heals) == 1, timeout_s=10, what="the first heal pass")
        with open_cache() as cache:
            assert cache.freshness.kept_fresh(str(projects))
