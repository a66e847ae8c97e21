"""Independent work done at the same time: a thread per piece, its outcome back in the caller.

For the waits of ``roam cr`` (issue 16): REST reads that do not depend on each other, and local
bookkeeping that can run while a barrier waits on the network. Nothing here is for CPU-bound
work (the GIL would serialise it): each piece spends most of its time waiting.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Background", "in_background"]

T = TypeVar("T")


class Background(Generic[T]):
    """``function()`` running in a daemon thread; ``result()`` waits for it."""

    def __init__(self, function: Callable[[], T]) -> None:
        self._function = function
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._function()
        except BaseException as exc:  # handed to the caller's thread by result()
            self._error = exc

    def result(self) -> T:
        """Its return value, or raise, in the calling thread, what it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when no error was raised


def in_background(function: Callable[[], T]) -> Background[T]:
    """Start ``function`` now, in a thread of its own."""
    return Background(function)
