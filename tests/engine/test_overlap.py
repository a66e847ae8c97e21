"""Independent pieces of work at the same time, their outcome back in the caller's thread."""

from __future__ import annotations

import threading

import pytest

from session_roam.engine.core.overlap import in_background


def test_in_background_gives_back_what_the_work_returned() -> None:
    assert in_background(lambda: 42).result() == 42


def test_in_background_raises_in_the_caller_what_the_work_raised() -> None:
    def fails() -> None:
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        in_background(fails).result()


def test_in_background_pieces_run_at_the_same_time() -> None:
    both = threading.Barrier(2, timeout=5)  # broken (and raising) if they ran one by one
    pieces = [in_background(both.wait) for _ in range(2)]
    assert sorted(piece.result() for piece in pieces) == [0, 1]
