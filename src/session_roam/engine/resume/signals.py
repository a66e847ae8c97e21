"""How ``roam cr`` holds on to signals while it, not claude, is working.

SIGTERM and SIGHUP while roam waits for the lease or for bytes must unwind it (so ``finally``
releases the lease); while it releases, nothing may cut the release short.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

__all__ = ["Terminated", "signals_blocked", "terminations_raise"]

_TERMINATING: Final = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived while roam itself (not claude) was working: unwind and release."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def terminations_raise() -> Iterator[None]:
    """Outside the child's run, SIGTERM/SIGHUP unwind roam (so ``finally`` releases the lease)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Terminated(signum)

    previous = {signum: signal.signal(signum, handler) for signum in _TERMINATING}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def signals_blocked() -> Iterator[None]:
    """Releasing must not be cut short by a second Ctrl-C or SIGTERM; they wait until it is done."""
    blocked = {signal.SIGINT, *_TERMINATING}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
