"""Step 3 of the merge: one version's lines cut into turns, the units the timeline orders.

A turn starts at a typed prompt that continues the main chain and begins a new run, or at a
``compact_boundary``; everything up to the next start travels with it (``timeline.py`` has
the whole algorithm). A turn is known by the uuid of its first row.
"""

from __future__ import annotations

from session_roam.merge.order import HEAD
from session_roam.merge.records import Line

__all__ = ["Segments", "segment", "starts_turn"]

#: (key, lines) per turn, in the version's order; the first key is ``HEAD``.
Segments = list[tuple[str, list[Line]]]


def starts_turn(line: Line, previous: Line | None) -> bool:
    """A prompt starts a turn when it continues the main chain and is not part of a run.

    Several prompt-like user rows can make one run (``/rename``: caveat, command, output).
    2.1.x marks a run with one ``promptId``; without it, a prompt that follows another
    prompt-like row stays with it (coarser units are safe, split runs are not).
    """
    if line.boundary or previous is None:
        return True
    if line.parent != previous.uuid:
        return False
    if line.prompt_id is not None and previous.prompt_id is not None:
        return line.prompt_id != previous.prompt_id
    return not previous.prompt_like


def segment(lines: list[Line], tail: Line | None) -> Segments:
    """Cut one version's lines into (key, lines) turns; the first one is the head."""
    segments: Segments = [(HEAD, [])]
    seen: set[str] = set()
    previous = tail
    for line in lines:
        if line.kind == "row" and not line.sidechain and line.uuid is not None:
            if line.cut_candidate and line.uuid not in seen and starts_turn(line, previous):
                seen.add(line.uuid)
                current = segments[-1][1]
                queued: list[Line] = []
                while current and current[-1].type == "queue-operation":
                    queued.append(current.pop())
                queued.reverse()
                segments.append((line.uuid, queued))
            previous = line
        segments[-1][1].append(line)
    return segments
