"""What roam remembers of the `roam watch` service it manages, so `roam setup` respects the
person's own changes to it.

``$XDG_STATE_HOME/session-roam/watch-service.json`` (never synced; written atomically, 0600)
holds the sha256 of the unit or agent file roam last wrote, with its path, and whether the
service was removed with `roam watch uninstall` since. A re-run of `roam setup` then leaves a
removed service removed and a file the person edited as it is (saying so, with the command
that overrides either); `roam watch install` (an explicit request) writes it again, and so
does `roam setup --watch`. A file written before this record existed counts as roam's own.

A file roam wrote that is gone, with no removal recorded, was deleted by someone else (the
person, by hand): that is a removal too (``deleted_by_hand``). So roam forgets the file when it
removes one itself without it being the person's choice (`roam uninstall`, a unit whose start
failed: ``forget_written``), and the next setup installs it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import atomic_write

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "WATCH_RECORD",
    "WatchRecord",
    "deleted_by_hand",
    "edited_by_hand",
    "forget_written",
    "read_record",
    "remember_removal",
    "remember_written",
]

WATCH_RECORD: Final = "watch-service.json"
_SCHEMA: Final = "roam.watch-record/1"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchRecord:
    """``path`` and ``sha256`` of the file roam last wrote ("": none known); ``removed``:
    `roam watch uninstall` ran after that."""

    path: str = ""
    sha256: str = ""
    removed: bool = False


def _record_path() -> Path:
    return xdg.state_dir() / WATCH_RECORD


def read_record() -> WatchRecord:
    """The record; an empty one when there is none, or it cannot be read (it is roam's own
    state, rebuilt by the next install: a damaged one must not stop setup)."""
    path = xdg.state_dir_path() / WATCH_RECORD
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("schema") != _SCHEMA:
            raise ValueError("not a watch record")
        return WatchRecord(str(data["path"]), str(data["sha256"]), data["removed"] is True)
    except FileNotFoundError:
        return WatchRecord()
    except (OSError, ValueError, KeyError) as exc:
        log.info("%s ignored: %s", path, exc)
        return WatchRecord()


def _write(record: WatchRecord) -> None:
    body = {"schema": _SCHEMA, **asdict(record)}
    atomic_write(_record_path(), (json.dumps(body, sort_keys=True) + "\n").encode(), mode=0o600)


def remember_written(path: Path, text: str) -> None:
    """roam wrote (or found unchanged) ``text`` at ``path``: it is roam's, and installed."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if read_record() != WatchRecord(str(path), digest, removed=False):
        _write(WatchRecord(str(path), digest, removed=False))


def remember_removal() -> None:
    """`roam watch uninstall` ran: `roam setup` must not bring the service back by itself."""
    known = read_record()
    try:
        _write(WatchRecord(known.path, known.sha256, removed=True))
    except OSError as exc:  # the service is removed all the same; setup may bring it back
        log.warning("Could not record that the watch service was removed: %s", exc)


def forget_written() -> None:
    """roam removed the file itself, not at the person's asking (`roam uninstall`, a unit whose
    start failed): nothing of roam's is in place, and its absence is no choice to keep."""
    if read_record() == WatchRecord():
        return
    try:
        _write(WatchRecord())
    except OSError as exc:  # setup would then take the absent file for a removal by hand
        log.warning("Could not record that roam removed the watch service itself: %s", exc)


def deleted_by_hand(path: Path, record: WatchRecord) -> bool:
    """Whether roam wrote the file at ``path`` and it is gone, with no removal recorded: not
    `roam watch uninstall` nor roam itself (which forgets what it removes) deleted it."""
    return bool(record.sha256) and record.path == str(path) and not path.exists()


def edited_by_hand(path: Path, record: WatchRecord) -> bool:
    """Whether the file at ``path`` differs from what roam last wrote there (so the person
    changed it). False when it is absent, or roam has no record of writing it."""
    if record.path != str(path) or not record.sha256:
        return False
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return hashlib.sha256(data).hexdigest() != record.sha256
