"""Mark where a take-over starts writing, and find sessions whose file forked there.

A take-over (``roam cr --force``) starts a second writer while the first may still be writing:
its claude can be running under a closed lid and append a late turn when the machine wakes.
If that late turn lands in the file that already holds the new holder's turns (no conflict
copy), the file has two branches and Claude Code resumes only one. Only the taking-over machine
knows, at that moment, that the row it resumes from is a point where two writers may part, so
it records it in the session itself (``session_roam.merge.forks``): the fact then travels to
every machine with the bytes it explains, and any of them can repair the fork the same way,
long after the lease claims have moved on.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.paths import validate_session_id
from session_roam.engine.core.safefs import LinkRefused, has_link_below, open_nofollow
from session_roam.engine.core.store import (
    SWAP_RETRY_S,
    SWAP_WAIT_S,
    being_replaced,
    read_bytes,
    read_bytes_if_present,
    read_settled,
    syncthing_temp,
)
from session_roam.errors import RoamError

if TYPE_CHECKING:
    from session_roam.engine.core.store import SessionFiles

__all__ = [
    "TAKEOVER_NEEDLE",
    "TakeoverScan",
    "file_has_fork",
    "mark_fork_point",
    "mark_stolen_session",
    "needs_repair",
]

log = logging.getLogger(__name__)

#: The bytes every take-over line holds (``merge.forks.TAKEOVER_TYPE``). Spelled out here so that
#: ``roam cr``, which checks every session it resumes, imports the merge only when it must.
TAKEOVER_NEEDLE: Final = b'"type":"roam-takeover"'


def mark_fork_point(path: Path, session_id: str, device: str) -> str | None:
    """Append the take-over line naming the row ``path`` resumes from; that row, or None.

    The line is appended the way Claude Code appends (one write of one whole line, O_APPEND,
    fsync), not by replacing the file: a replace could drop a line that Syncthing or a claude
    appended meanwhile, an append cannot. Nothing is written when the file is missing or a
    symlink, holds no conversation yet, or a take-over line already names the same row.
    ``path`` is ``<projects>/<project>/<id>.jsonl``: a project folder that is a link (a glob
    goes through it) leads outside the synced folder, so nothing is read or written there.
    """
    if has_link_below(path.parents[1], path):
        log.warning("session %s: not marking the take-over through a symbolic link", session_id)
        return None
    deadline = time.monotonic() + SWAP_WAIT_S
    while True:
        point, landed = _append_mark(path, session_id, device)
        if landed or time.monotonic() > deadline:
            break
        time.sleep(SWAP_RETRY_S)  # Syncthing was replacing the file: mark its new version
    if point is not None and landed:
        log.info("session %s: take-over from row %s recorded", session_id, point)
    elif point is not None:
        log.warning("session %s: could not record the take-over point", session_id)
        return None
    return point


def _append_mark(path: Path, session_id: str, device: str) -> tuple[str | None, bool]:
    """One try of ``mark_fork_point``: (the row, whether the line is in the file at ``path``).

    One descriptor reads the file and appends to it, so the point is computed from the very
    file the line goes into (two opens could each meet another version while Syncthing
    replaces it). Not landed: the file was missing while Syncthing replaced it
    (``being_replaced``), or the path names another file by the time of the write, or after
    it (the line then went into the old one, which is no longer the session's).
    """
    try:
        fd = open_nofollow(path, os.O_RDWR | os.O_APPEND | os.O_NONBLOCK)
    except LinkRefused:
        return None, True
    except FileNotFoundError:
        return None, not being_replaced(path)
    except OSError as exc:
        if isinstance(exc, PermissionError):
            read_bytes(path)  # unreadable: the one-sentence InvalidInput; readable: read-only
        log.warning("session %s: could not record the take-over point: %s", session_id, exc)
        return None, True
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            log.warning("session %s: not marking the take-over in %s", session_id, path)
            return None, True
        point, line = _mark_for(_read_all(fd), session_id, device)
        if line and _names(path, info):
            _append(fd, line)
        elif line:
            return point, False  # replaced since it was opened: mark its new version
    finally:
        os.close(fd)
    return point, line is None or _names(path, info)


def _mark_for(data: bytes, session_id: str, device: str) -> tuple[str | None, bytes | None]:
    """The row a take-over in ``data`` resumes from, and the line to append (None: none)."""
    from session_roam.merge.forks import takeover_line
    from session_roam.merge.resume import resume_chain

    chain = resume_chain(data) if data else []
    if not chain:
        return None, None
    point = chain[-1]
    if _has_mark(data, point):
        return point, None
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line = takeover_line(session_id, point, device, stamp) + b"\n"
    if not data.endswith(b"\n"):
        line = b"\n" + line  # never glue the line to a torn last line
    return point, line


def _read_all(fd: int) -> bytes:
    """The whole file open at ``fd``, from its first byte."""
    with os.fdopen(fd, "rb", closefd=False) as handle:
        return handle.read()


def _append(fd: int, line: bytes) -> None:
    """One write of one whole line (O_APPEND), fsynced, as Claude Code appends; a short write
    (a disk nearly full) is finished, never left as half a line."""
    rest = memoryview(line)
    while rest:
        rest = rest[os.write(fd, rest) :]
    os.fsync(fd)


def _names(path: Path, info: os.stat_result) -> bool:
    """Whether ``path`` (not followed) is still the file ``info`` was taken of."""
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)


def mark_stolen_session(projects: Path, session_id: str, device: str) -> list[str]:
    """After ``roam lease steal``: record the take-over point in the session's file here.

    A steal is a take-over that writes nothing itself (the next ``roam cr`` does), so the
    point is recorded now, in every project folder that holds the session. Returns the points.
    """
    session = validate_session_id(session_id)
    points: list[str] = []
    paths = set(projects.glob(f"[!.]*/{session}.jsonl"))
    temp = syncthing_temp(Path(f"{session}.jsonl")).name
    for found in projects.glob(f"[!.]*/{temp}"):  # its transcript missing mid-swap
        if being_replaced(main := found.with_name(f"{session}.jsonl")):
            paths.add(main)
    for path in sorted(paths):
        point = mark_fork_point(path, session, device)
        if point is not None:
            points.append(point)
    return points


def _has_mark(data: bytes, point: str) -> bool:
    """True when a take-over line in ``data`` already names ``point``."""
    return TAKEOVER_NEEDLE + b',"forkPoint":"' + point.encode() + b'"' in data


def _holds_needle(path: Path, chunk: int = 1 << 20) -> bool:
    """True when ``path`` (a regular file, not followed) holds ``TAKEOVER_NEEDLE``."""
    try:  # a transcript caught in Syncthing's swap is opened once its new version is in
        fd = read_settled(lambda p: os.open(p, os.O_RDONLY | os.O_NOFOLLOW), path)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as handle:
        keep = len(TAKEOVER_NEEDLE) - 1  # a needle split across two reads is still found
        tail = b""
        while block := handle.read(chunk):
            window = tail + block
            if TAKEOVER_NEEDLE in window:
                return True
            tail = window[-keep:]
    return False


def file_has_fork(path: Path) -> bool:
    """True when the transcript at ``path`` holds a take-over fork not yet merged.

    The take-over line is looked for a chunk at a time first: ``roam verify`` asks this of
    every transcript, and slurping each would cost memory of the largest file, not of a chunk.
    """
    if not _holds_needle(path):
        return False
    try:
        data = read_bytes_if_present(path)
    except (OSError, RoamError):
        return False  # unreadable: the merge that would repair it says why, with the fix
    if data is None or TAKEOVER_NEEDLE not in data:
        return False
    from session_roam.merge.forks import has_unmerged_fork

    return has_unmerged_fork(data)


def needs_repair(session: SessionFiles) -> bool:
    """Conflict copies to merge, or a fork between writers inside the transcript itself."""
    return session.has_conflicts or (session.main_exists and file_has_fork(session.main))


class TakeoverScan:
    """Which transcripts ever had a take-over, reading each byte once (for ``roam watch``).

    The watcher hears every append to every transcript; reading a whole session on each would
    cost its size per change. Only the bytes added since the last look are searched (a file
    that shrank or was replaced is searched again from its start), and only a transcript with
    a take-over line is then parsed for a fork.
    """

    def __init__(self) -> None:
        self._seen: dict[Path, tuple[int, int, bool]] = {}  # inode, bytes searched, line found

    def took_over(self, path: Path) -> bool:
        """True when ``path`` holds a take-over line (a fork may follow)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            self._seen.pop(path, None)
            return False
        try:
            size, inode = os.fstat(fd).st_size, os.fstat(fd).st_ino
            known, done, found = self._seen.get(path, (inode, 0, False))
            if known != inode or size < done:
                done, found = 0, False
            if not found and size > done:
                start = max(0, done - len(TAKEOVER_NEEDLE))
                found = TAKEOVER_NEEDLE in os.pread(fd, size - start, start)
        finally:
            os.close(fd)
        self._seen[path] = (inode, size, found)
        return found
