"""``roam ls``'s and ``roam cs``'s summaries read through the summary cache.

Only the session files that changed since the cache last saw them are read
(``summary_cache``); ``stream_summaries`` hands them out one at a time in the order asked,
straight from the cache's database, so that ``roam ls --all`` at 50,000 sessions never holds
them all. When the cache cannot be opened (a read-only cache folder), every file is read as
before (``listing.summarize``).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import TYPE_CHECKING, Any

from session_roam.engine.core.paths import projects_dir
from session_roam.engine.core.store import SessionFiles, list_all_sessions, list_sessions
from session_roam.engine.sessions.listing import SessionSummary, summarize
from session_roam.engine.sessions.pathmap import local_project_dirs
from session_roam.engine.sessions.summary_cache import open_cache

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from session_roam.engine.sessions.listing import LeaseFacts
    from session_roam.engine.sessions.pathmap import PathMap
    from session_roam.engine.sessions.session_scan import ScannedSession
    from session_roam.engine.sessions.summary_cache import CachedRow

__all__ = ["from_row", "list_summaries", "stream_json_texts", "stream_summaries"]

log = logging.getLogger(__name__)


def list_summaries(
    config_dir: Path, pathmap: PathMap, *, cwd: Path | None = None
) -> tuple[SessionSummary, ...]:
    """Summaries of ``cwd``'s sessions (every project's when ``cwd`` is None), newest first.

    Read through this machine's summary cache (``summary_cache``): only the files that changed
    since it last saw them are read, from their old end when they were only appended to. When
    the cache cannot be opened (a read-only cache folder), every file is read as before.
    """
    root = projects_dir(config_dir)
    names = (
        None
        if cwd is None
        else tuple(dict.fromkeys(f.name for f in local_project_dirs(cwd, config_dir, pathmap)))
    )
    mapped = bool(pathmap.mappings)

    def build(item: ScannedSession, row: tuple[Any, ...]) -> SessionSummary:
        cwd = row[9]
        return SessionSummary(
            item.session_id, Path(item.path), item.project, cwd,
            pathmap.to_local(cwd) if mapped and cwd else cwd,
            row[10], row[11], row[12], row[13], item.mtime_ns / 1e9, row[14], item.size,
            item.conflict_copies, None, None, row[17],
        )  # fmt: skip

    try:
        with open_cache() as cache:
            found: list[SessionSummary] = cache.refresh(root, names, build=build, trust=True).rows
    except (sqlite3.Error, OSError) as exc:
        log.info("summary cache unavailable (%s): reading every session", exc)
        return _read_summaries(config_dir, pathmap, cwd)
    found.sort(key=lambda s: (s.last_activity or "", s.mtime), reverse=True)
    return tuple(found)


def stream_summaries(
    config_dir: Path,
    pathmap: PathMap,
    *,
    cwd: Path | None = None,
    sort: str = "time",
    raw: bool = False,
) -> tuple[int, Iterator[Any]]:
    """``list_summaries`` one at a time, in ``sort`` order (``ls_query.SORTS``): how many, and
    the summaries, read from the cache's database as they are written out (``roam ls``)."""
    root = projects_dir(config_dir)
    names = (
        None
        if cwd is None
        else tuple(dict.fromkeys(f.name for f in local_project_dirs(cwd, config_dir, pathmap)))
    )
    try:
        cache = open_cache()
    except (sqlite3.Error, OSError) as exc:
        log.info("summary cache unavailable (%s): reading every session", exc)
        found = _read_summaries(config_dir, pathmap, cwd)
        if raw:
            return len(found), iter([_raw(s) for s in found])
        return len(found), iter(found)
    try:
        count, copies, rows = cache.stream(root, names, order=sort, trust=True)
    except BaseException:
        cache.close()
        raise
    mapped = bool(pathmap.mappings)

    def summaries() -> Iterator[Any]:
        try:
            if raw:  # the row itself, its conflict copies appended (stream_json_texts)
                for row in rows:
                    yield (*row, copies.get(row[2], 0))
                return
            for (
                sid,
                project,
                path,
                size,
                mtime_ns,
                rcwd,
                title,
                first,
                last,
                act,
                turns,
                bad,
            ) in rows:
                yield SessionSummary(
                    sid, Path(path), project, rcwd,
                    pathmap.to_local(rcwd) if mapped and rcwd else rcwd,
                    title, first, last, act, mtime_ns / 1e9, turns, size,
                    copies.get(path, 0), None, None, bad,
                )  # fmt: skip
        finally:
            cache.close()

    return count, summaries()


def stream_json_texts(
    config_dir: Path,
    pathmap: PathMap,
    facts: Mapping[str, LeaseFacts],
    *,
    cwd: Path | None = None,
    sort: str = "time",
    unreadable: list[tuple[str, str]] | None = None,
) -> Iterator[str]:
    """``roam ls --json``'s sessions as JSON texts, straight from the cache's rows (no
    ``SessionSummary`` made: the same text, ``summary_json``); ``unreadable`` hears (path,
    why) of each session file that could not be read."""
    # The walk and the cache's refresh run now, before anything is written: a folder that
    # cannot be read is one error, not half a JSON document.
    _count, rows = stream_summaries(config_dir, pathmap, cwd=cwd, sort=sort, raw=True)
    return _json_texts(rows, pathmap, facts, unreadable)


def _json_texts(
    rows: Iterator[Any],
    pathmap: PathMap,
    facts: Mapping[str, LeaseFacts],
    unreadable: list[tuple[str, str]] | None,
) -> Iterator[str]:
    """``summary_json`` of each row, written out inline: 50,000 rows at 12 function calls each
    were a third of ``ls --all --json``. The same text (tests/engine/test_summary_json.py)."""
    mapped = bool(pathmap.mappings)
    q = encode_basestring_ascii
    stamp, utc = time.strftime, time.gmtime
    for row in rows:
        sid, project, path, size, mtime_ns, rcwd, title, first, last, act, turns, bad, copies = row
        holder = writer = None
        running = False
        if facts and (found := facts.get(sid)) is not None:
            holder, writer, running = found.holder, found.last_writer, found.running
        if bad and unreadable is not None:
            unreadable.append((path, bad))
        cwd = "null" if rcwd is None else q(rcwd)
        local = q(pathmap.to_local(rcwd)) if mapped and rcwd else cwd
        yield (
            f'{{"claude_running":{"true" if running else "false"},'
            f'"conflict_copies":{int(copies)},"cwd":{cwd},'
            f'"first_prompt":{"null" if first is None else q(first)},'
            f'"last_activity":{"null" if act is None else q(act)},'
            f'"last_prompt":{"null" if last is None else q(last)},'
            f'"last_writer":{"null" if writer is None else q(writer)},'
            f'"last_written":"{stamp("%Y-%m-%dT%H:%M:%SZ", utc(mtime_ns / 1e9))}",'
            f'"lease_holder":{"null" if holder is None else q(holder)},'
            f'"local_cwd":{local},"path":{q(path)},"project":{q(project)},'
            f'"session_id":{q(sid)},"size":{int(size)},'
            f'"title":{"null" if title is None else q(title)},"turns":{int(turns)},'
            f'"unreadable":{"null" if bad is None else q(bad)}}}'
        )


def _raw(s: SessionSummary) -> tuple[Any, ...]:
    """A summary read without the cache, as ``stream_summaries(raw=True)`` answers rows."""
    return (
        s.session_id, s.project, str(s.path), s.size, int(s.mtime * 1e9), s.cwd, s.title,
        s.first_prompt, s.last_prompt, s.last_activity, s.turns, s.unreadable, s.conflict_copies,
    )  # fmt: skip


def from_row(row: CachedRow, root: Path, pathmap: PathMap | None) -> SessionSummary:
    """A cached row as ``roam ls`` shows it (the cwd mapped to this machine's)."""
    local = pathmap.to_local(row.cwd) if (pathmap is not None and row.cwd) else row.cwd
    return SessionSummary(
        session_id=row.session_id,
        path=Path(row.path),
        project=row.project,
        cwd=row.cwd,
        local_cwd=local,
        title=row.title,
        first_prompt=row.first_prompt,
        last_prompt=row.last_prompt,
        last_activity=row.last_activity,
        mtime=row.mtime_ns / 1e9,
        turns=row.turns,
        size=row.size,
        conflict_copies=row.conflict_copies,
        unreadable=row.unreadable,
    )


def _read_summaries(
    config_dir: Path, pathmap: PathMap, cwd: Path | None
) -> tuple[SessionSummary, ...]:
    if cwd is None:
        sessions: list[SessionFiles] = list(list_all_sessions(projects_dir(config_dir)))
    else:
        sessions = [
            item
            for folder in local_project_dirs(cwd, config_dir, pathmap)
            for item in list_sessions(folder)
        ]
    found = [s for files in sessions if (s := summarize(files, pathmap)) is not None]
    found.sort(key=lambda s: (s.last_activity or "", s.mtime), reverse=True)
    return tuple(found)
