"""``roam watch``: merge conflict copies as they appear, never while someone holds the session.

Syncthing makes a conflict copy when two machines write one session; ``claude -c`` never reads
it, so the other machine's turns are invisible until they are merged. The watcher listens for
file events below the projects folder (watchdog: inotify, FSEvents), collects the sessions that
got a conflict copy, and after a short quiet period (the debounce, so a burst of Syncthing
renames is handled once) merges each one whose lease nobody holds. A session with a live lease
is left alone and looked at again every ``retry_s`` until the holder releases it. Idle, it
sleeps on a queue: no polling of the disk.

At rest it costs nothing measurable at 50,000 sessions: the heal pass (``on_rescan``) runs
when a file event said something changed, at most every ``heal_s``; the whole folder is walked
again only every ``rescan_s`` (half an hour), the safety net behind lost events; every
``check_s`` only the file-event thread's health is looked at. Each session a file event names
also has its row in the summary cache brought up to date (``on_change``), so ``roam ls`` finds
nothing stale; ``on_beat`` runs every ``beat_s`` (the node's heartbeat, ``heartbeat``).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from session_roam.engine.conflicts.find import pending_sessions
from session_roam.engine.conflicts.forks import TakeoverScan
from session_roam.engine.conflicts.heartbeat import HEARTBEAT_S
from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.core.store import find_session_files, is_conflict_name
from session_roam.engine.sessions import refresh_search_index
from session_roam.engine.sessions.session_scan import scan_sessions
from session_roam.engine.sessions.summary_cache import SummaryCache, open_cache, withdraw_trust
from session_roam.errors import LeaseHeld, MergeRaced, RoamError

if TYPE_CHECKING:
    from collections.abc import Callable

    from watchdog.observers.api import BaseObserver

    from session_roam.engine.conflicts.merging import MergeResult
    from session_roam.engine.core.store import SessionFiles

__all__ = ["SessionKey", "WatchEvent", "Watcher", "session_of"]

log = logging.getLogger(__name__)

_SESSION_RE: Final = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
DEFAULT_DEBOUNCE_S: Final = 1.0
_READS: Final = frozenset({"opened", "closed_no_write"})  # watchdog's names for a read
#: The events the watch asks the kernel for: changes only, never reads.
_WRITES: Final = (
    FileModifiedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirModifiedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
)
DEFAULT_RETRY_S: Final = 2.0
#: Merges raced by Syncthing (``MergeRaced``) in a row, after pauses of n x ``retry_s``.
DEFAULT_SETTLE_TRIES: Final = 5
#: The safety net behind file events: one walk of the folder every half hour.
DEFAULT_RESCAN_S: Final = 1800.0
#: How often the file-event thread's health is checked, and the heal pass may run after events.
DEFAULT_CHECK_S: Final = 60.0


@dataclass(frozen=True, slots=True, order=True)
class SessionKey:
    project: str
    session_id: str


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """What the watcher did about one session: ``merged``, ``waiting`` (leased), ``settling``
    (Syncthing changed a file mid-merge; nothing changed, tried again shortly) or ``failed``."""

    session: SessionKey
    action: str
    detail: str


def session_of(projects: Path, path: Path) -> SessionKey | None:
    """The session a conflict copy (of a transcript or a file in its sibling folder) belongs to.

    A transcript itself counts too: a late writer's turn can fork it without any conflict copy
    (``engine/conflicts/forks.py``).
    """
    try:
        parts = path.relative_to(projects).parts
    except ValueError:
        return None
    if len(parts) < 2 or parts[0].startswith("."):
        return None
    match = _SESSION_RE.match(parts[1])
    if match is None:
        return None
    transcript = len(parts) == 2 and parts[1] == f"{match.group(1)}.jsonl"
    if not (transcript or is_conflict_name(path.name)):
        return None
    return SessionKey(parts[0], match.group(1))


class _Handler(FileSystemEventHandler):
    def __init__(self, projects: Path, inbox: queue.Queue[SessionKey]) -> None:
        self.projects = projects
        self.inbox = inbox
        self.dirty = threading.Event()  # something changed since the last heal pass

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _READS:
            return  # roam's own reads of a transcript would wake it again, for ever
        self.dirty.set()
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            text = raw.decode() if isinstance(raw, bytes) else raw
            key = session_of(self.projects, Path(text))
            if key is not None:
                self.inbox.put(key)


class Watcher:
    """Merges conflict copies below ``projects``; ``is_live(session_id)`` asks the lease.

    ``run`` blocks until ``stop()``; ``on_event`` hears every action (the CLI logs them).
    """

    def __init__(
        self,
        projects: Path,
        *,
        is_live: Callable[[str], bool],
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        retry_s: float = DEFAULT_RETRY_S,
        rescan_s: float = DEFAULT_RESCAN_S,
        on_event: Callable[[WatchEvent], None] | None = None,
        merge: Callable[[SessionFiles, Callable[[str], bool]], MergeResult] | None = None,
        on_rescan: Callable[[], None] | None = None,
        on_change: Callable[[SessionKey], None] | None = None,
        on_beat: Callable[[], None] | None = None,
        check_s: float = DEFAULT_CHECK_S,
        beat_s: float = HEARTBEAT_S,
        settle_tries: int = DEFAULT_SETTLE_TRIES,
    ) -> None:
        self.projects = projects
        self.is_live = is_live
        self.debounce_s = debounce_s
        self.retry_s = retry_s
        self.rescan_s = rescan_s
        self.on_event = on_event or (lambda _event: None)
        self._merge = merge or (lambda files, locked: merge_session(files, is_locked=locked))
        self._inbox: queue.Queue[SessionKey] = queue.Queue()
        self._took_over = TakeoverScan()
        self._due: dict[SessionKey, float] = {}
        self.settle_tries = settle_tries
        self._races: dict[SessionKey, int] = {}
        self._stop = threading.Event()
        #: Runs at every rescan: the deletion policy's heal pass (``engine.restore.heal``).
        self._on_rescan = on_rescan or (lambda: None)
        self._on_change = on_change or self._refresh_summary
        self._on_beat = on_beat or (lambda: None)
        self.check_s = min(check_s, rescan_s)
        self.beat_s = beat_s
        self._handler = _Handler(projects, self._inbox)
        self._summaries: SummaryCache | None = None
        #: Project folders whose summary refresh failed: readers walk until one succeeds.
        self._unrefreshed: set[str] = set()

    def stop(self) -> None:
        self._stop.set()
        self._inbox.put(SessionKey("", ""))  # wake the loop

    def run(self) -> None:
        """Catch up on copies and forks that arrived while nobody watched, then follow events.

        Every ``check_s`` a file-event thread that died (watchdog can lose a race with folders
        created and removed at once) is restarted, and the heal pass runs if events came;
        every ``rescan_s`` the folder is walked once more: events make merges fast, the rescan
        makes them certain.
        """
        observer = self._observe()
        try:
            now = time.monotonic()
            self._catch_up(now, forks=True)
            self._start_summaries()
            self._heal()
            self._on_beat()
            next_rescan, next_check, next_beat = now + self.rescan_s, now + self.check_s, 0.0
            next_beat = now + self.beat_s
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_check:
                    if not observer.is_alive():
                        log.warning("The file-event thread stopped; starting it again.")
                        observer = self._observe()
                        self._handler.dirty.set()  # what it missed: the rescan below finds it
                        next_rescan = now
                    if self._handler.dirty.is_set() and now < next_rescan:
                        self._heal()
                    if self._unrefreshed:  # a summary refresh failed: try it again
                        self._refresh_summary(SessionKey("", ""))
                    next_check = now + self.check_s
                if now >= next_rescan:
                    self._catch_up(now, forks=False)
                    self._heal()
                    next_rescan = now + self.rescan_s
                if now >= next_beat:
                    self._on_beat()
                    next_beat = now + self.beat_s
                self._drain(self._wait_time(min(next_rescan, next_check, next_beat)))
                self._process_due()
        finally:
            observer.stop()
            observer.join(timeout=5)
            if self._summaries is not None:
                self._summaries.close()

    def _heal(self) -> None:
        self._handler.dirty.clear()
        self._on_rescan()

    def _observe(self) -> BaseObserver:
        observer = Observer()
        # No open/close-without-write events: every read of a session (roam's own, the
        # catch-up's, claude's) would cost this process two events for nothing.
        observer.schedule(
            self._handler, str(self.projects), recursive=True, event_filter=list(_WRITES)
        )
        observer.start()
        return observer

    def _start_summaries(self) -> None:
        """Record this watch as the summary cache's watcher, then walk once: from the end of
        that walk ``ls``, ``cs`` and ``verify`` trust the cache without a walk of their own
        (``summary_fresh``), instead of only after this watch's first file event."""
        try:
            if self._summaries is None:
                self._summaries = open_cache()
            self._summaries.freshness.watched(str(self.projects), time.time())
            self._summaries.refresh(self.projects)  # one walk, begun after the watching did
            self._summaries.restore_trust()  # whatever an earlier watcher missed is read now
            self._unrefreshed.clear()
        except (sqlite3.Error, OSError, RoamError) as exc:
            log.info("summary cache not brought up to date at start: %s", exc)

    def _refresh_summary(self, key: SessionKey) -> None:
        """Bring the summary cache's rows of ``key``'s project folder up to date, and of every
        project an earlier refresh failed on. It is a cache, so a failure (the database busy
        or broken) is logged, not fatal; but readers trust it without a walk only while this
        watch keeps it current, so a failure withdraws that trust (``withdraw_trust``) until a
        later refresh of everything missed succeeds (retried at each event and every
        ``check_s``)."""
        if key.project:
            self._unrefreshed.add(key.project)
        if not self._unrefreshed:
            return
        try:
            if self._summaries is None:
                self._summaries = open_cache()
            projects = tuple(sorted(self._unrefreshed))
            self._summaries.refresh(self.projects, projects, watcher=True)
        except (sqlite3.Error, OSError, RoamError) as exc:
            log.info("summary cache not refreshed: %s", exc)
            self._distrust()
            self._reopen_later()  # a reader may have replaced a broken file meanwhile
            return
        self._unrefreshed.clear()
        try:
            self._summaries.restore_trust()
        except OSError as exc:  # readers keep walking: slower, never stale
            log.info("summary cache still not trusted: %s", exc)

    def _reopen_later(self) -> None:
        """Drop the connection after a failure: were the file thrown away and rebuilt by a
        reader, writes through the old connection would go to the deleted file unseen."""
        if self._summaries is not None:
            with contextlib.suppress(sqlite3.Error):
                self._summaries.close()
            self._summaries = None

    def _distrust(self) -> None:
        try:
            withdraw_trust(None if self._summaries is None else self._summaries.db_path)
        except (OSError, RoamError) as exc:
            log.warning("A failed summary refresh could not withdraw its trust: %s", exc)

    def _catch_up(self, now: float, *, forks: bool) -> None:
        """Queue every session with copies; at start also those a take-over forked.

        Looking for forks reads every transcript, so only the first walk does; after it,
        file events bring each changed transcript (``TakeoverScan`` keeps that cheap), and the
        walk is a stat walk (``session_scan``) that looks closer only at folders with copies.
        """
        if forks:
            pending = pending_sessions(self.projects, forks=True)
        else:
            with_copies = sorted(
                {s.project for s in scan_sessions(str(self.projects)) if s.conflict_copies}
            )
            pending = tuple(
                files
                for project in with_copies
                for files in pending_sessions(self.projects, self.projects / project, forks=False)
            )
        for files in pending:
            key = SessionKey(files.project_dir.name, files.session_id)
            self._due.setdefault(key, now)

    def _wait_time(self, next_wake: float) -> float:
        wake = min([next_wake, *self._due.values()])
        return max(0.0, wake - time.monotonic())

    def _drain(self, timeout: float) -> None:
        try:
            key = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            if key.session_id:
                self._due[key] = time.monotonic() + self.debounce_s
            try:
                key = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _process_due(self) -> None:
        now = time.monotonic()
        for key in sorted(k for k, at in self._due.items() if at <= now):
            if self._stop.is_set():
                return
            del self._due[key]
            self._on_change(key)
            event = self.handle(key)
            if event is not None:
                self.on_event(event)
                if event.action == "waiting":
                    self._due[key] = time.monotonic() + self.retry_s
                elif event.action == "settling":  # no file event may come: Syncthing is done
                    self._due[key] = time.monotonic() + self.retry_s * self._races[key]

    def handle(self, key: SessionKey) -> WatchEvent | None:
        """Merge one session now if nobody holds it; None when there was nothing to merge."""
        tries = self._races.pop(key, 0)  # merges Syncthing raced in a row, until now
        main = self.projects / key.project / f"{key.session_id}.jsonl"
        refresh_search_index(self.projects, [main])  # warm `roam cf` then skips its walk
        try:
            files = find_session_files(self.projects / key.project, key.session_id)
        except RoamError:
            return None
        if not files.has_conflicts and not self._took_over.took_over(files.main):
            return None  # an append to a transcript no machine ever took over
        try:
            if self.is_live(key.session_id):
                return WatchEvent(key, "waiting", "a live lease holds it")
            result = self._merge(files, self.is_live)
        except LeaseHeld as exc:
            return WatchEvent(key, "waiting", exc.message)
        except MergeRaced as exc:  # nothing changed: tried again after a pause, boundedly
            if tries + 1 < self.settle_tries:
                self._races[key] = tries + 1
                return WatchEvent(key, "settling", exc.message)
            detail = f"{exc.message} It was still changing after {tries + 1} tries."
            log.warning("Could not merge session %s: %s", key.session_id, detail)
            return WatchEvent(key, "failed", detail)  # tried again when it changes next
        except RoamError as exc:
            log.warning("Could not merge session %s: %s", key.session_id, exc.message)
            return WatchEvent(key, "failed", exc.message)
        if result.status != "merged":
            return None  # a take-over whose fork has not happened (or was merged already)
        copies = f"{len(result.removed)} conflict copies" if result.removed else "a take-over fork"
        detail = f"{copies} merged, backup in {result.backup}"
        log.info("Merged session %s: %s", key.session_id, detail)
        return WatchEvent(key, "merged", detail)
