"""When a warm ``roam cf`` may skip its freshness walk: ``roam watch`` keeps the index current.

Without a watcher every query first ``stat``s every session file (``search_index.refresh``),
since Claude Code appends to transcripts without telling anyone. ``roam watch`` hears every
change below the projects folder and brings just those files up to date
(``refresh_search_index``), recording itself as the index's watcher. A query may then trust
the index as it stands, with no walk, when all of these hold:

* the watcher recorded is alive: the same pid with the same start time (``/proc``; elsewhere
  no query trusts a watcher and every query walks);
* it watches the same projects folder the query searches (spelled the same: the index keys
  files by path);
* the last full walk started after the watcher's first refresh, so every change since that
  walk's scan produced an event the watcher handles (a change just before the query is at most
  the watcher's debounce, about a second, behind).

The facts live in the index's ``state`` table, read with one ``SELECT``: the check costs a
fraction of a millisecond, against one ``stat`` per session file for the walk.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import sqlite3

__all__ = ["Freshness", "process_start"]

_WALKED: Final = "walked"
_WATCHER: Final = "watcher"


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (``/proc``), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None  # field 22 of stat(5)


class Freshness:
    """The watcher and walk facts of one open index (writes join the caller's transaction)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def _get(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    def _put(self, key: str, value: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO state(key, value) VALUES (?, ?)", (key, json.dumps(value))
        )

    def walked(self, root: str, at: float) -> None:
        """A full walk of ``root`` that started at ``at`` (wall clock) is in the index."""
        self._put(_WALKED, {"root": root, "at": at})

    def watched(self, root: str, now: float) -> None:
        """This process, a watcher of ``root``, just brought what it saw change up to date."""
        pid, start = os.getpid(), process_start(os.getpid())
        if start is None:
            return
        mine = {"pid": pid, "start": start, "root": root}
        current = self._get(_WATCHER)
        since = now
        if current is not None and {k: current.get(k) for k in mine} == mine:
            since = float(current.get("since", now))
        if current is None or since == now:
            self._put(_WATCHER, mine | {"since": since})

    def kept_fresh(self, root: str) -> bool:
        """True when a live watcher has kept the index of ``root`` current since a full walk."""
        watcher, walk = self._get(_WATCHER), self._get(_WALKED)
        if watcher is None or walk is None:
            return False
        here = root
        if watcher.get("root") != here or walk.get("root") != here:
            return False
        if not float(walk.get("at", 0)) > float(watcher.get("since", float("inf"))):
            return False
        pid = watcher.get("pid")
        return isinstance(pid, int) and process_start(pid) == watcher.get("start")
