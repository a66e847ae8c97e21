"""How big and how deep one record may be before roam stops trying to parse it.

Whatever arrives through sync is data: one line nested 100,000 levels deep makes ``json.loads``
(and anything that walks the result) raise ``RecursionError``, and one 200 MB line costs
gigabytes once decoded. A record past either limit is unreadable, like a torn one: the merge
sets it aside with its bytes (backup store and report), every reader skips it, nothing parses
it.

The limits sit far above anything Claude Code writes (its records nest about a dozen levels; a
large tool result or image is a few MB) and far below what hurts. The depth check is a cheap
scan that never recurses: count the brackets outside strings with C-speed byte operations.

A top-level module of the standard library only, not part of ``merge``: the pure merge
(``merge.records``) and the start-up path of ``roam cf`` (``engine.bounded``) both use it, and
importing the ``merge`` package would cost ``cf`` the whole merge engine (about 20 ms).
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Final

__all__ = ["MAX_RECORD_BYTES", "MAX_RECORD_DEPTH", "record_problem", "too_deep"]

#: A record (one line, without its newline) longer than this is not parsed.
MAX_RECORD_BYTES: Final = 32 * 1024 * 1024
#: A record whose arrays and objects nest deeper than this is not parsed.
MAX_RECORD_DEPTH: Final = 256

_STRING_RE: Final = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_OPENING: Final = bytes(b for b in range(256) if b not in b"[{")
_STEP: Final = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))


def too_deep(raw: bytes | memoryview, limit: int = MAX_RECORD_DEPTH) -> bool:
    """True when ``raw``'s brackets outside strings nest deeper than ``limit``.

    A line with no more than ``limit`` opening brackets in all cannot be too deep, which is
    every ordinary record; only the rest pays for stripping strings and summing brackets. The
    opening brackets are counted in one pass (``translate`` keeps only them): two ``count``
    calls read the line twice and cost the merge's parse path about a third more.
    """
    data = bytes(raw)
    if len(data.translate(None, _NOT_OPENING)) <= limit:
        return False
    brackets = _STRING_RE.sub(b"", data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return False
    return max(accumulate(map(_STEP.__getitem__, brackets))) > limit


def record_problem(raw: bytes | memoryview) -> str | None:
    """``"too-long"`` or ``"too-deep"`` when ``raw`` must not be parsed, else None."""
    if len(raw) > MAX_RECORD_BYTES:
        return "too-long"
    if too_deep(raw):
        return "too-deep"
    return None
