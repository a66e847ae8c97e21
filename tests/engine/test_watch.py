"""The watcher's decisions, without Syncthing: which session a copy belongs to, merge or wait."""

from __future__ import annotations

import queue
import shutil
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from watchdog.events import (
    FileClosedNoWriteEvent,
    FileModifiedEvent,
    FileOpenedEvent,
    FileSystemEvent,
)

from session_roam.engine.conflicts.merging import MergeResult, merge_session
from session_roam.engine.conflicts.watch import (
    SessionKey,
    Watcher,
    WatchEvent,
    _Handler,
    session_of,
)
from session_roam.engine.setup.watch_service import (
    install_service,
    render_launchd,
    render_systemd,
    uninstall_service,
)
from session_roam.errors import MergeRaced
from tests.merge.sessions import late_reply_fork
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.core.store import SessionFiles

EXAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "examples" / "conflicts" / "projects"
SESSION = "3f2a9c4e-1b7d-4e8a-9c3f-5d6e7f8a9b0c"
KEY = SessionKey("-tmp-demo", SESSION)


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    target = tmp_path / "projects"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        (f"-tmp-demo/{SESSION}.sync-conflict-20261125-131239-MRUWJBM.jsonl", KEY),
        (f"-tmp-demo/{SESSION}/subagents/agent-a.sync-conflict-20261125-131240-MRUWJBM.jsonl", KEY),
        (f"-tmp-demo/{SESSION}.jsonl", KEY),  # a late writer can fork it with no copy
        (f"-tmp-demo/{SESSION}/subagents/agent-a.jsonl", None),
        (".roam/leases/x.sync-conflict-20261125-131240-MRUWJBM.json", None),
        ("-tmp-demo/memory/MEMORY.sync-conflict-20261125-131240-MRUWJBM.md", None),
    ],
)
def test_session_of_maps_conflict_copies_and_transcripts_to_their_session(
    tmp_path: Path, relative: str, expected: SessionKey | None
) -> None:
    assert session_of(tmp_path, tmp_path / relative) == expected


def test_watch_handle_merges_unleased_session(projects: Path) -> None:
    event = Watcher(projects, is_live=lambda _s: False).handle(KEY)
    assert event is not None
    assert event.action == "merged"
    assert not list((projects / "-tmp-demo").rglob("*.sync-conflict-*"))


def test_watch_handle_waits_while_leased(projects: Path) -> None:
    event = Watcher(projects, is_live=lambda _s: True).handle(KEY)
    assert event is not None
    assert event.action == "waiting"
    assert list((projects / "-tmp-demo").rglob("*.sync-conflict-*"))


def test_watch_handle_ignores_session_without_copies(projects: Path) -> None:
    watcher = Watcher(projects, is_live=lambda _s: False)
    watcher.handle(KEY)
    assert watcher.handle(KEY) is None


@pytest.fixture
def forked_key(tmp_path: Path) -> tuple[Path, SessionKey, bytes]:
    """A projects folder whose only session forked inside its file after a take-over."""
    projects = tmp_path / "forked"
    data, _late = late_reply_fork()
    (projects / "-tmp-demo").mkdir(parents=True)
    (projects / "-tmp-demo" / f"{SESSION}.jsonl").write_bytes(data)
    return projects, KEY, data


def test_watch_handle_merges_a_take_over_fork_with_no_copy(
    forked_key: tuple[Path, SessionKey, bytes],
) -> None:
    projects, key, data = forked_key
    event = Watcher(projects, is_live=lambda _s: False).handle(key)
    merged = (projects / "-tmp-demo" / f"{SESSION}.jsonl").read_bytes()
    assert (event is not None and event.action, merged != data) == ("merged", True)


def test_watch_handle_waits_with_a_take_over_fork_while_leased(
    forked_key: tuple[Path, SessionKey, bytes],
) -> None:
    projects, key, data = forked_key
    event = Watcher(projects, is_live=lambda _s: True).handle(key)
    kept = (projects / "-tmp-demo" / f"{SESSION}.jsonl").read_bytes()
    assert (event is not None and event.action, kept) == ("waiting", data)


def test_watch_handle_ignores_an_append_to_a_transcript_never_taken_over(
    projects: Path,
) -> None:
    watcher = Watcher(projects, is_live=lambda _s: True)
    watcher.handle(KEY)  # merges nothing: leased; the copies stay
    for copy in (projects / "-tmp-demo").rglob("*.sync-conflict-*"):
        copy.unlink()
    assert watcher.handle(KEY) is None


def _raced_then_merged(races: int) -> Callable[[SessionFiles, Callable[[str], bool]], MergeResult]:
    """A merge that Syncthing races ``races`` times, then the real one."""
    calls = 0

    def merge(files: SessionFiles, locked: Callable[[str], bool]) -> MergeResult:
        nonlocal calls
        calls += 1
        if calls <= races:
            raise MergeRaced(f"{files.session_id}.jsonl changed while roam was merging")
        return merge_session(files, is_locked=locked)

    return merge


def test_watch_handle_reports_a_merge_syncthing_raced_as_settling(projects: Path) -> None:
    watcher = Watcher(projects, is_live=lambda _s: False, merge=_raced_then_merged(1))
    event = watcher.handle(KEY)
    assert (event is not None and event.action) == "settling"
    assert list((projects / "-tmp-demo").rglob("*.sync-conflict-*"))


def test_watch_reports_a_merge_raced_every_time_as_failed_after_its_bound(projects: Path) -> None:
    watcher = Watcher(
        projects, is_live=lambda _s: False, merge=_raced_then_merged(99), settle_tries=3
    )
    actions = [event.action for event in map(watcher.handle, [KEY] * 3) if event is not None]
    assert actions == ["settling", "settling", "failed"]


def test_watch_counts_the_races_again_after_reporting_a_merge_failed(projects: Path) -> None:
    watcher = Watcher(
        projects, is_live=lambda _s: False, merge=_raced_then_merged(99), settle_tries=2
    )
    actions = [event.action for event in map(watcher.handle, [KEY] * 4) if event is not None]
    assert actions == ["settling", "failed", "settling", "failed"]


def test_watch_tries_a_raced_merge_again_with_no_file_event(
    projects: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[WatchEvent] = []
    watcher = Watcher(
        projects,
        is_live=lambda _s: False,
        debounce_s=0.1,
        retry_s=0.1,
        on_event=events.append,
        merge=_raced_then_merged(2),
    )
    monkeypatch.setattr(watcher, "_observe", _NoEvents)  # no file event will come
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        wait_until(
            lambda: [e.action for e in events] == ["settling", "settling", "merged"],
            timeout_s=10,
            what="the merge tried again",
        )
    finally:
        watcher.stop()
        thread.join(timeout=10)
    assert not list((projects / "-tmp-demo").rglob("*.sync-conflict-*"))


class _NoEvents:
    """An observer that hears nothing: only the watcher's own retries can merge."""

    def is_alive(self) -> bool:
        return True

    def stop(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass


@pytest.mark.parametrize(
    ("event", "queued"),
    [(FileOpenedEvent, False), (FileClosedNoWriteEvent, False), (FileModifiedEvent, True)],
)
def test_watch_hears_writes_to_a_transcript_but_not_reads(
    tmp_path: Path, event: type[FileSystemEvent], queued: bool
) -> None:
    inbox: queue.Queue[SessionKey] = queue.Queue()
    _Handler(tmp_path, inbox).on_any_event(event(str(tmp_path / f"-tmp-demo/{SESSION}.jsonl")))
    assert (not inbox.empty()) is queued


def test_watch_run_catches_up_on_existing_copies(projects: Path) -> None:
    events: list[WatchEvent] = []
    watcher = Watcher(projects, is_live=lambda _s: False, debounce_s=0.1, on_event=events.append)
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        wait_until(lambda: [e.action for e in events] == ["merged"], timeout_s=10, what="merge")
    finally:
        watcher.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_watch_systemd_unit_runs_this_python(tmp_path: Path) -> None:
    unit = render_systemd(["/venv/bin/python", "-m", "session_roam", "watch"])
    assert "ExecStart=/venv/bin/python -m session_roam watch" in unit
    assert "WantedBy=default.target" in unit


def test_watch_systemd_unit_stops_only_the_watch_so_served_crs_live_on() -> None:
    unit = render_systemd(["/venv/bin/python", "-m", "session_roam", "watch"])
    assert "KillMode=process\n" in unit


def test_watch_launchd_agent_escapes_arguments(tmp_path: Path) -> None:
    plist = render_launchd(["/a&b/python", "watch"], tmp_path / "log")
    assert "<string>/a&amp;b/python</string>" in plist


def test_watch_install_writes_private_unit_once(tmp_path: Path) -> None:
    first = install_service(tmp_path, activate=False, platform="systemd")
    again = install_service(tmp_path, activate=False, platform="systemd")
    assert (first.changed, again.changed) == (True, False)
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600


def test_watch_uninstall_removes_unit(tmp_path: Path) -> None:
    path = install_service(tmp_path, activate=False, platform="launchd").path
    change = uninstall_service(tmp_path, activate=False, platform="launchd")
    assert change.changed
    assert not path.exists()
