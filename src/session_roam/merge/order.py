"""In which order the turns of several versions go: each version's own order, then time.

A turn is a node named by the uuid of its first row. Every version contributes the edges
between its consecutive turns; a compaction adds edges to the turns it never saw. A
topological sort that always takes the earliest available turn (by the first row's
timestamp, then uuid) interleaves the versions in time without ever swapping two turns of one
version. Versions that disagree on an order (a cycle) are resolved by taking the earliest
remaining turn, so the sort always finishes.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Final

__all__ = ["HEAD", "after_compaction", "moved_turns", "order_turns"]

HEAD: Final = ""  # key of the lines before a version's first turn


def after_compaction(
    boundaries: set[str], versions_of: dict[str, set[int]]
) -> list[tuple[str, str]]:
    """A compaction summarises its own version's history only: turns it never saw go after it.

    Placed before the boundary by time, such a turn would be in the file but never reach the
    model: 2.1.331 resumes from the boundary and re-reads only the rows the boundary's
    ``compactMetadata`` preserved (checked with the real client on the machine-a/b corpus).
    """
    return [
        (boundary, key)
        for boundary in sorted(boundaries)
        for key, versions in versions_of.items()
        if not versions & versions_of[boundary]
    ]


def order_turns(
    sequences: list[list[str]], stamps: dict[str, str], extra: list[tuple[str, str]]
) -> list[str]:
    """Topological order of every version's turn sequence, earliest timestamp first."""
    successors: dict[str, set[str]] = {key: set() for key in stamps}
    indegree: dict[str, int] = dict.fromkeys(stamps, 0)
    edges = [pair for sequence in sequences for pair in itertools.pairwise(sequence)]
    for before, after in edges + extra:
        if after not in successors[before]:
            successors[before].add(after)
            indegree[after] += 1
    heap = [(stamps[key], key) for key, degree in indegree.items() if degree == 0]
    heapq.heapify(heap)
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(stamps):
        if not heap:  # versions disagree on an order (a cycle): earliest remaining turn goes
            heapq.heappush(heap, min((stamps[k], k) for k in stamps if k not in done))
        _, key = heapq.heappop(heap)
        if key in done:
            continue
        done.add(key)
        order.append(key)
        for after in sorted(successors[key]):
            indegree[after] -= 1
            if indegree[after] == 0:
                heapq.heappush(heap, (stamps[after], after))
    return order


def moved_turns(order: list[str], sequences: list[list[str]]) -> int:
    before: dict[str, set[str]] = {}
    for sequence in sequences:
        for previous, key in zip([HEAD, *sequence], sequence, strict=False):
            before.setdefault(key, set()).add(previous)
    return sum(
        1
        for previous, key in zip([HEAD, *order], order, strict=False)
        if previous not in before[key]
    )
