"""Find sessions and their Syncthing conflict copies on disk, and read them robustly.

A session is ``<project>/<id>.jsonl`` plus the sibling folder ``<project>/<id>/``. Syncthing
names a losing version ``name.sync-conflict-YYYYMMDD-HHMMSS-XXXXXXX.ext``; a copy of a copy
stacks markers (``name.sync-conflict-A.sync-conflict-B.ext``). Stripping every marker gives the
file the copy belongs to, which works even when that file no longer exists.

A Syncthing receiver replaces a file by delete + rename, so a path can vanish for a few
milliseconds: reads retry on ENOENT before giving up, and ``being_replaced`` tells a path that
is missing for that moment (Syncthing's temporary file of it is there, being written) from one
that is gone.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from session_roam.engine.core.atomic import TEMP_PREFIX
from session_roam.engine.core.safefs import is_link, is_project_name, read_bytes_nofollow
from session_roam.errors import InvalidInput, SetupError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "SWAP_RETRY_S",
    "SWAP_WAIT_S",
    "ConflictCopy",
    "SessionFiles",
    "being_replaced",
    "conflict_stamps",
    "find_session_files",
    "is_conflict_name",
    "is_temp_name",
    "list_all_sessions",
    "list_sessions",
    "original_name",
    "read_bytes",
    "read_bytes_if_present",
    "read_settled",
    "scandir_entries",
    "syncthing_target",
    "syncthing_temp",
]

_T = TypeVar("_T")
_MARKER_RE: Final = re.compile(r"\.sync-conflict-(\d{8}-\d{6}-[A-Z0-9]{7})")
_SESSION_FILE_RE: Final = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl"
)
#: Syncthing's temp name of a file (``lib/fs/tempname.go``): a longer name is hashed.
_ST_TEMP_PREFIX: Final = ".syncthing."
_ST_TEMP_SUFFIX: Final = ".tmp"
_ST_MAX_NAME: Final = 160 - len(_ST_TEMP_PREFIX) - len(_ST_TEMP_SUFFIX)
#: A temp written to this recently is a delivery under way; an older one is a pull that failed
#: and left its temp for reuse (Syncthing keeps those for a day), not a file about to appear.
_DELIVERING_S: Final = 10.0
_CLOCK_SLACK_S: Final = 2.0
#: How long a reader waits for a file Syncthing is replacing: the swap takes about a
#: millisecond (bench/lease/swap_window.py: 0.5 ms median, 16 ms at most, under load).
SWAP_WAIT_S: Final = 1.0
SWAP_RETRY_S: Final = 0.005
_SESSION_DIR_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_conflict_name(name: str) -> bool:
    """True for a Syncthing conflict copy (any number of stacked markers)."""
    return _MARKER_RE.search(name) is not None


def original_name(name: str) -> str:
    """The name of the file a conflict copy belongs to (``name`` itself if it is not a copy)."""
    return _MARKER_RE.sub("", name)


def conflict_stamps(name: str) -> tuple[str, ...]:
    """The ``YYYYMMDD-HHMMSS-SHORTID`` markers of a copy, outermost last.

    The short id is usually the *winner's* device and the time is when the copy was made, so
    these are for display only; authorship is read from the content.
    """
    return tuple(_MARKER_RE.findall(name))


def is_temp_name(name: str) -> bool:
    """Half-written files: Syncthing's ``.syncthing.*.tmp`` and roam's own ``.roam-tmp-*``."""
    return syncthing_target(name) is not None or name.startswith(TEMP_PREFIX)


def syncthing_target(name: str) -> str | None:
    """The file name whose next version Syncthing's temp file ``name`` holds (``syncthing_temp``
    read backwards); None when ``name`` is no such temp. A long name's temp is its hash, which
    no caller's pattern of names matches."""
    if name.startswith(_ST_TEMP_PREFIX) and name.endswith(_ST_TEMP_SUFFIX):
        return name[len(_ST_TEMP_PREFIX) : -len(_ST_TEMP_SUFFIX)]
    return None


def syncthing_temp(path: Path) -> Path:
    """Where Syncthing writes the next version of ``path`` before renaming it into place."""
    name = path.name
    if len(os.fsencode(name)) > _ST_MAX_NAME:  # never a session's name: hashlib only then
        import hashlib

        name = hashlib.sha256(os.fsencode(name)).hexdigest()
    return path.with_name(f"{_ST_TEMP_PREFIX}{name}{_ST_TEMP_SUFFIX}")


def being_replaced(path: Path, *, now: float | None = None) -> bool:
    """True while Syncthing is delivering a version of ``path``: its temporary file was written
    in the last seconds. Syncthing removes the old file before it renames the temp into place
    (``performFinish``), so a missing ``path`` is then missing only for that moment: it is not
    lost, not deleted, and nothing may be written in its place (the rename would replace it).

    The newer of mtime and ctime: Syncthing may make the temp by renaming another local file
    with the same blocks (``renameFile``), which keeps that file's old mtime but sets the
    ctime, and a ctime cannot be set back. A time ahead of the clock (a temp left while the
    clock ran fast) is not "now": only the window of the last seconds counts.
    """
    try:
        found = os.lstat(syncthing_temp(path))
    except OSError:
        return False
    age = (time.time() if now is None else now) - max(found.st_mtime, found.st_ctime)
    return -_CLOCK_SLACK_S < age < _DELIVERING_S


def read_settled(read: Callable[[Path], _T], path: Path) -> _T:
    """``read(path)``, again while it raises FileNotFoundError and ``path`` is being replaced,
    for at most ``SWAP_WAIT_S``: a file caught in Syncthing's swap is read once its new version
    is in place; one that is simply gone raises at once."""
    deadline = time.monotonic() + SWAP_WAIT_S
    while True:
        try:
            return read(path)
        except FileNotFoundError:
            if not being_replaced(path) or time.monotonic() > deadline:
                raise
        time.sleep(SWAP_RETRY_S)


@dataclass(frozen=True, slots=True)
class ConflictCopy:
    """One conflict copy and the (possibly missing) file it is a version of."""

    path: Path
    original: Path

    @property
    def stamps(self) -> tuple[str, ...]:
        return conflict_stamps(self.path.name)


@dataclass(frozen=True, slots=True)
class SessionFiles:
    """Everything on disk that belongs to one session in one project folder."""

    session_id: str
    project_dir: Path
    main_exists: bool
    conflict_copies: tuple[ConflictCopy, ...]

    @property
    def main(self) -> Path:
        return self.project_dir / f"{self.session_id}.jsonl"

    @property
    def sibling_dir(self) -> Path:
        return self.project_dir / self.session_id

    @property
    def has_conflicts(self) -> bool:
        return bool(self.conflict_copies)


def scandir_entries(folder: Path | str) -> list[os.DirEntry[str]]:
    """The entries of ``folder``; none when it vanished meanwhile, exit 3 when unreadable."""
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []  # removed or replaced by Syncthing while we looked: nothing to report
    except PermissionError as exc:  # a listing that silently skipped it would hide sessions
        raise SetupError(
            f"Cannot read the folder {folder}: permission denied.",
            hint=f"Give your user read access to it (see `ls -ld {folder}`), or run roam as "
            "the user who owns it.",
        ) from exc


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except FileNotFoundError:
        return False


def _copies_in_sibling(folder: Path) -> list[ConflictCopy]:
    found: list[ConflictCopy] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        here = Path(root)
        for name in sorted(files):
            if is_link(here / name):
                continue  # a link is reported by `roam verify`, never merged (engine.safefs)
            if is_conflict_name(name) and not is_temp_name(name):
                found.append(ConflictCopy(here / name, here / original_name(name)))
    return found


def list_sessions(project_dir: Path) -> tuple[SessionFiles, ...]:
    """Every session of one project folder, sorted by id, with its conflict copies.

    A session counts if its main file exists, or if only conflict copies of it are left (its
    main name is derived from theirs). Temp files, non-session files and symlinks are skipped,
    and a project folder that is itself a symlink has no sessions (``engine.safefs``).
    """
    if is_link(project_dir):
        return ()
    mains: set[str] = set()
    copies: dict[str, list[ConflictCopy]] = {}
    for entry in scandir_entries(project_dir):
        name = entry.name
        if is_temp_name(name):
            continue
        if entry.is_dir(follow_symlinks=False):
            if _SESSION_DIR_RE.fullmatch(name):
                inside = _copies_in_sibling(Path(entry.path))
                if inside:
                    copies.setdefault(name, []).extend(inside)
            continue
        if not _is_file(entry):
            continue
        match = _SESSION_FILE_RE.fullmatch(original_name(name))
        if match is None:
            continue
        session_id = match.group(1)
        if is_conflict_name(name):
            copy = ConflictCopy(project_dir / name, project_dir / original_name(name))
            copies.setdefault(session_id, []).append(copy)
        else:
            mains.add(session_id)
    return tuple(
        SessionFiles(
            session_id=session_id,
            project_dir=project_dir,
            main_exists=session_id in mains,
            conflict_copies=tuple(sorted(copies.get(session_id, []), key=lambda c: c.path)),
        )
        for session_id in sorted(mains | set(copies))
    )


def list_all_sessions(projects_root: Path) -> tuple[SessionFiles, ...]:
    """Every session of every project folder (``is_project_name``), sorted by project then id."""
    found: list[SessionFiles] = []
    for entry in sorted(scandir_entries(projects_root), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False) and is_project_name(entry.name):
            found.extend(list_sessions(Path(entry.path)))
    return tuple(found)


def find_session_files(project_dir: Path, session_id: str) -> SessionFiles:
    """The files of one session (its main file may be missing; copies may be none)."""
    for session in list_sessions(project_dir):
        if session.session_id == session_id:
            return session
    return SessionFiles(session_id, project_dir, main_exists=False, conflict_copies=())


def _read_once(path: Path) -> bytes:
    return read_bytes_nofollow(path)


def _read_retrying(path: Path) -> bytes:
    """``_read_once``, tried up to six times while the file is missing (backing off to 0.2 s).
    tenacity is imported only once a first read missed: ``roam cr`` starts without it."""
    try:
        return _read_once(path)
    except FileNotFoundError:
        pass
    from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

    again = retry(
        retry=retry_if_exception_type(FileNotFoundError),
        stop=stop_after_attempt(5),
        wait=wait_exponential(multiplier=0.02, max=0.2),  # 0.02 0.04 0.08 0.16, as before
        reraise=True,
    )(_read_once)
    time.sleep(0.01)  # and the first wait, 0.01, as when tenacity made all six tries
    return again(path)


def read_bytes(path: Path) -> bytes:
    """The bytes of ``path``, reopening it while Syncthing swaps it (about half a second at most).

    Raises InvalidInput (one sentence) when the file stays missing, is a folder, or cannot be
    read for lack of permission; ``LinkRefused`` (an InvalidInput) when it is a symlink.
    """
    try:
        return _read_retrying(path)
    except FileNotFoundError:
        raise InvalidInput(
            f"{path} does not exist (Syncthing may have just replaced or removed it).",
            hint="Wait for Syncthing to settle, then run `roam conflicts list` again.",
        ) from None
    except PermissionError:
        raise InvalidInput(
            f"Cannot read {path}: permission denied.",
            hint=f"Check the file's owner and mode (`ls -l {path}`), then run the command again.",
        ) from None
    except IsADirectoryError:
        raise InvalidInput(
            f"{path} is a folder, not a file.", hint="Give the path of a .jsonl file."
        ) from None


def read_bytes_if_present(path: Path) -> bytes | None:
    """Like ``read_bytes``, but ``None`` when the file stays missing through the retries."""
    try:
        return _read_retrying(path)
    except FileNotFoundError:
        return None
    except (PermissionError, IsADirectoryError):
        return read_bytes(path)  # raises the one-sentence InvalidInput
