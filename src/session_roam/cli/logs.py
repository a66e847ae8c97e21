"""How roam's log lines look on stderr: like its other messages, not like a Python traceback.

Without ``--verbose`` only warnings show, as ``warning: <sentence>``, the same shape as the
warnings the commands print themselves. With ``--verbose`` every line also names its level and
the module it came from, for a bug report. Standard library only: the ``cr`` and ``cf`` fast
paths configure logging before anything heavy is imported.

A log line can name a file or a machine that came through sync, so it crosses the output
boundary too: every control and bidi character shows as ``\x1b`` (``session_roam.visible``).
"""

from __future__ import annotations

import logging

from session_roam.visible import plain

__all__ = ["configure_logging"]


class _VisibleFormatter(logging.Formatter):
    """``--verbose``'s shape, with the line's control characters made visible."""

    def format(self, record: logging.LogRecord) -> str:
        return plain(super().format(record), newlines=True)


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return plain(f"{record.levelname.lower()}: {record.getMessage()}", newlines=True)


class _OwnRecords(logging.Filter):
    """Under ``-v``, the libraries roam uses (httpx, httpcore, ...) stay at WARNING: their
    DEBUG lines (thousands per ``roam -v demo``) drown roam's own. ``-vv`` shows them too."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith("session_roam")


def configure_logging(verbose: int) -> None:
    """Send roam's log records to stderr, once per process (later calls change nothing).

    ``verbose`` counts ``-v``: 0 warnings only, 1 roam's own DEBUG lines, 2 everyone's.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    if verbose:
        handler.setFormatter(_VisibleFormatter("%(levelname)s %(name)s: %(message)s"))
        if verbose < 2:
            handler.addFilter(_OwnRecords())
    else:
        handler.setFormatter(_PlainFormatter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
