"""The reading half of an index refresh: a session file's searchable rows, away from SQLite.

``extract`` reads a file from an offset and returns what the index stores of it (the rows'
text, its cwd and title, where its complete lines end and the checksums of that prefix), with
no database at hand, so that a large build can run it in worker processes while one writer
inserts (``extracted``): parsing JSON and tokenising into FTS5 then use both cores. Small
refreshes (a query's, the watcher's) run it inline: a pool only pays off past ``_POOL_BYTES``.

Only the standard library is imported, and ``multiprocessing`` only for a large build.
"""

from __future__ import annotations

import os
import sys
import zlib
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from session_roam.engine.core.bounded import load_record
from session_roam.engine.core.safefs import LinkRefused, open_nofollow
from session_roam.engine.sessions.search_scan import LineReader, record_text, worth_parsing

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["LINK", "Extract", "extract", "extracted", "window_hash"]

WINDOW: Final = 4096
_POOL_BYTES = 32 * 1024 * 1024  # below this a pool costs more than it saves (bench/search sets it)
_BATCH_BYTES = 4 * 1024 * 1024  # session bytes a worker reads per message
_AHEAD: Final = 4  # batches extracted ahead of the writer, per worker (bounds the memory)
_WAIT_S = 30.0  # a batch's result is given up on after this
_SLOWEST: Final = 1e6  # ... plus a second per MB it reads

LINK: Final = "link"  # what ``extract`` answers for a link: it reads as empty, no row is kept


class Extract(NamedTuple):
    """What the index keeps of a file read from ``start``: rows ``(ts, role, text)``."""

    rows: list[tuple[str, str, str]]
    cwd: str | None
    title: str | None
    end: int  # the offset just past the last complete line
    head_hash: bytes
    tail_hash: bytes


def window_hash(data: bytes) -> bytes:
    """A checksum of a 4 KB window, to notice a rewrite (not an adversary): crc32 is enough, and
    ``zlib`` loads in a fraction of the time ``hashlib`` (OpenSSL) takes at start-up."""
    return zlib.crc32(data).to_bytes(4, "big")


def extract(path: str, start: int) -> Extract | str | None:
    """The searchable rows of ``path`` from ``start`` (complete lines only: a torn last line
    waits for the rest of its bytes); ``LINK`` for a link, None when it cannot be opened."""
    try:
        handle = os.fdopen(open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK), "rb")
    except (LinkRefused, OSError) as exc:
        return LINK if isinstance(exc, LinkRefused) else None
    with handle:
        handle.seek(start)
        cwd: str | None = None
        title: str | None = None
        rows: list[tuple[str, str, str]] = []
        lines = LineReader(handle)
        for data, start_at, end_at in lines.spans():  # a line is copied out only when parsed
            if not worth_parsing(data, start_at, end_at):
                continue
            row = load_record(data[start_at:end_at])  # None: torn, foreign, too long, too deep
            if not isinstance(row, dict):
                continue
            if row.get("type") == "custom-title" and isinstance(row.get("customTitle"), str):
                title = row["customTitle"]
                continue
            if cwd is None and isinstance(row.get("cwd"), str):
                cwd = row["cwd"]
            found = record_text(row)
            if found is not None:
                rows.append((str(row.get("timestamp") or ""), found[0], found[1]))
        end = lines.end
        fd = handle.fileno()  # the file just read, not whatever the path names by now
        head = os.pread(fd, min(WINDOW, end), 0)
        tail_at = max(0, end - WINDOW)
        tail = os.pread(fd, end - tail_at, tail_at)
    return Extract(rows, cwd, title, end, window_hash(head), window_hash(tail))


def _quiet_on_interrupt() -> None:
    """A worker leaves Ctrl-C to the build: the pool's exit ends it, with no traceback of its
    own on the terminal."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _extract_batch(batch: list[tuple[str, int]]) -> list[Extract | str | None]:
    return [extract(*job) for job in batch]


Batch = tuple[list[tuple[str, int]], int]  # jobs, and the bytes they read


def _batches(jobs: list[tuple[str, int]], sizes: list[int]) -> Iterator[Batch]:
    """``jobs`` in runs of about ``_BATCH_BYTES`` to read: one message to a worker and back
    per run rather than per file (a message costs the writer more than a small file does)."""
    batch: list[tuple[str, int]] = []
    size = 0
    for job, bytes_ in zip(jobs, sizes, strict=True):
        batch.append(job)
        size += bytes_
        if size >= _BATCH_BYTES:
            yield batch, size
            batch, size = [], 0
    if batch:
        yield batch, size


def extracted(jobs: list[tuple[str, int]], sizes: list[int]) -> Iterator[Extract | str | None]:
    """``extract`` of each ``(path, start)``, in order (``sizes``: the bytes each will read).
    Past ``_POOL_BYTES`` in all on a machine with more than one core, worker processes read
    ahead of the caller (at most ``_AHEAD`` batches each), so the caller's inserts overlap the
    parsing. As many workers as cores: when the inserts are the slower half the workers wait,
    idle, for room ahead. A batch that takes far longer than its size can (a worker was
    killed: its batch never comes back) is read here, and so is everything after it."""
    workers = min(4, os.cpu_count() or 1)
    if sum(sizes) < _POOL_BYTES or workers < 2 or not sys.platform.startswith("linux"):
        for job in jobs:
            yield extract(*job)
        return
    import collections
    import multiprocessing

    # fork: the workers only parse (no SQLite, no locks taken) and leave with os._exit
    with multiprocessing.get_context("fork").Pool(workers, _quiet_on_interrupt) as pool:
        ahead: collections.deque[tuple[Batch, Any]] = collections.deque()
        queued = _batches(jobs, sizes)
        for batch in queued:
            ahead.append((batch, pool.apply_async(_extract_batch, (batch[0],))))
            if len(ahead) >= workers * _AHEAD:
                break
        while ahead:
            batch, pending = ahead.popleft()
            try:
                results = pending.get(_WAIT_S + batch[1] / _SLOWEST)
            except multiprocessing.TimeoutError:
                pool.terminate()
                left = [batch, *(item for item, _pending in ahead), *queued]
                for job in (job for run, _size in left for job in run):
                    yield extract(*job)
                return
            following = next(queued, None)
            if following is not None:
                ahead.append((following, pool.apply_async(_extract_batch, (following[0],))))
            yield from results
