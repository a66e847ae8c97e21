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
fraction of a millisecond, against one ``stat`` per session file for the walk. The summary
cache (``summary_cache``) keeps the same two facts in its ``meta`` table, for ``roam ls``,
``roam cs`` and ``roam verify``: one record and one rule for both caches.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not from typing: this module is on the warm `roam cf`'s start-up path
if TYPE_CHECKING:
    import sqlite3
    from typing import Final

__all__ = ["Freshness", "process_start"]

_WALKED: Final = "walked"  # "<start of the walk, wall clock>\t<root>"
_WATCHER: Final = "watcher"  # "<pid>\t<start ticks>\t<since, wall clock>\t<root>"


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
    """The watcher and walk facts of one open cache (writes join the caller's transaction),
    in its key/value ``table`` (the search index's ``state``, the summary cache's ``meta``)."""

    def __init__(self, db: sqlite3.Connection, table: str = "state") -> None:
        if table not in ("state", "meta"):
            raise ValueError(table)
        self.db = db
        self._select = f"SELECT value FROM {table} WHERE key = ?"  # noqa: S608 (checked above)
        self._insert = f"INSERT OR REPLACE INTO {table}(key, value) VALUES (?, ?)"  # noqa: S608

    def _get(self, key: str, fields: int) -> list[str] | None:
        row = self.db.execute(self._select, (key,)).fetchone()
        if row is None:
            return None
        parts = str(row[0]).split("\t", fields - 1)
        return parts if len(parts) == fields else None

    def _put(self, key: str, *fields: object) -> None:
        value = "\t".join(str(field) for field in fields)
        self.db.execute(self._insert, (key, value))

    def walked(self, root: str, at: float) -> None:
        """A full walk of ``root`` that started at ``at`` (wall clock) is in the index."""
        self._put(_WALKED, repr(at), root)

    def watched(self, root: str, now: float) -> None:
        """This process, a watcher of ``root``, just brought what it saw change up to date."""
        pid = os.getpid()
        start = process_start(pid)
        if start is None:
            return
        current = self._get(_WATCHER, 4)
        if current is not None and (current[0], current[1], current[3]) == (str(pid), start, root):
            return  # the same watcher: it has been watching since its first refresh
        self._put(_WATCHER, pid, start, repr(now), root)

    def kept_fresh(self, root: str) -> bool:
        """True when a live watcher has kept the index of ``root`` current since a full walk."""
        watcher, walk = self._get(_WATCHER, 4), self._get(_WALKED, 2)
        if watcher is None or walk is None or watcher[3] != root or walk[1] != root:
            return False
        try:
            if not float(walk[0]) > float(watcher[2]):
                return False
            return process_start(int(watcher[0])) == watcher[1]
        except ValueError:
            return False
