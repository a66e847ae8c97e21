"""A sqlite file that is only a cache: the search index and the session summaries.

Both are rebuildable from the sessions, so one that is broken, or written by another version
of roam, is thrown away and built anew rather than repaired; but only a file roam made: a
folder or a link in its place is named and left alone (exit 3). The file is created 0600
without following a link, in WAL mode (readers never wait for the writer), with the
subclass's ``page_size``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import TYPE_CHECKING, ClassVar

from session_roam.errors import SetupError

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Self

__all__ = ["CacheDb"]


class CacheDb:
    """One open cache database; a subclass names itself (``what``) and says how a database
    of another ``user_version`` becomes its own (``_migrate``), or refuses it."""

    what: ClassVar[str] = "cache"
    schema_version: ClassVar[int] = 1
    page_size: ClassVar[int | None] = None  # SQLite's default (4096) unless a subclass says

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._db = self._open()

    def _migrate(self, db: sqlite3.Connection, version: int, fresh: bool) -> None:
        """Make ``db`` (at ``version``; ``fresh``: just created) this schema, or raise
        ``sqlite3.DatabaseError`` to have it thrown away and built anew."""
        raise NotImplementedError

    def _connect(self) -> sqlite3.Connection:
        fresh = not self.db_path.exists()
        if fresh:
            os.close(os.open(self.db_path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
        db = sqlite3.connect(self.db_path, isolation_level=None, timeout=10.0)
        if fresh and self.page_size is not None:  # only before the first write: WAL is one
            db.execute(f"PRAGMA page_size = {int(self.page_size)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != self.schema_version:
            self._migrate(db, version, fresh)
            db.execute(f"PRAGMA user_version = {self.schema_version}")
        try:
            self._check(db)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _check(self, db: sqlite3.Connection) -> None:
        """Raise ``sqlite3.DatabaseError`` when ``db``, of this schema, cannot be trusted (it
        is then thrown away and built anew); a subclass says when."""

    def _open(self) -> sqlite3.Connection:
        if os.path.isdir(self.db_path) or os.path.islink(self.db_path):
            # Not ours to delete: only a file roam made is a cache it may throw away.
            raise SetupError(
                f"roam's {self.what} {self.db_path} is a folder or a link, not a file.",
                hint=f"Move it out of the way; roam builds a new {self.what} when it needs one.",
            )
        try:
            return self._connect()
        except sqlite3.DatabaseError:
            self.discard()
            return self._connect()

    def discard(self) -> None:
        """Delete the database (it is a cache); the next open builds a new one."""
        with contextlib.suppress(AttributeError, sqlite3.Error):
            self._db.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.db_path}{suffix}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
