"""One row per uuid: pick the copy to keep when versions disagree, and keep the others aside.

Which copy wins must not depend on the order the versions were given in, so it is decided by
the record alone: the latest ``timestamp``, then the longest line, then the greatest bytes.
Copies that differ only in ``parentUuid`` are the same record (an earlier merge moved it) and
are not a conflict. The 2.1.331 loader would keep the last copy *in the file*, but a merge of
several files has no such order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

from session_roam.merge.model import SetAside
from session_roam.merge.records import Line, content_without_parent, same_bytes
from session_roam.merge.report import VariantConflict

__all__ = ["Resolution", "resolve_duplicates"]

_REASON: Final = "duplicate-uuid-variant"
_PATHS_SHOWN: Final = 3


@dataclass(frozen=True, slots=True)
class Resolution:
    winners: dict[str, Line]  # uuid -> the copy to write, only for uuids seen more than once
    set_aside: tuple[SetAside, ...]
    conflicts: tuple[VariantConflict, ...]
    exact_duplicates: int


def _rank(line: Line) -> tuple[str, int, bytes]:
    return (line.timestamp, len(line.raw), bytes(line.raw))


def _diff_summary(kept: dict[str, Any], lost: dict[str, Any]) -> str:
    from deepdiff import DeepDiff  # a heavy import, needed only when records conflict

    parts: list[str] = []
    for kind, changes in sorted(DeepDiff(kept, lost).items()):
        paths = sorted(str(path) for path in changes)
        more = f" (+{len(paths) - _PATHS_SHOWN} more)" if len(paths) > _PATHS_SHOWN else ""
        parts.append(f"{kind}: {', '.join(paths[:_PATHS_SHOWN])}{more}")
    return "; ".join(parts)


def _exact_extra(occurrences: list[tuple[int, Line]]) -> int:
    per_version = Counter((index, bytes(line.raw)) for index, line in occurrences)
    return sum(count - 1 for count in per_version.values())


def resolve_duplicates(tails: list[list[Line]], labels: list[str]) -> Resolution:
    """Find uuids written more than once across ``tails`` (one line list per version)."""
    first: dict[str, tuple[int, Line]] = {}
    repeated: dict[str, list[tuple[int, Line]]] = {}
    for index, lines in enumerate(tails):
        for line in lines:
            if line.uuid is None:
                continue
            seen = first.get(line.uuid)
            if seen is None:
                first[line.uuid] = (index, line)
            else:
                repeated.setdefault(line.uuid, [seen]).append((index, line))
    winners: dict[str, Line] = {}
    set_aside: list[SetAside] = []
    conflicts: list[VariantConflict] = []
    exact = 0
    for uuid in sorted(repeated):
        occurrences = repeated[uuid]
        first_line = occurrences[0][1]
        if all(same_bytes(first_line, line) for _, line in occurrences[1:]):
            # the same row in several versions (or repeated in one): nothing to choose
            exact += len(occurrences) - len({index for index, _ in occurrences})
            continue
        distinct = {bytes(line.raw): line for _, line in occurrences}
        exact += _exact_extra(occurrences)
        best = max(distinct.values(), key=_rank)
        winners[uuid] = best
        contents = {raw: content_without_parent(raw) for raw in distinct}
        best_raw = bytes(best.raw)
        kept_content = contents[best_raw]
        lost = [(i, line) for i, line in occurrences if contents[bytes(line.raw)] != kept_content]
        if not lost:
            continue
        set_aside.extend(
            SetAside(labels[i], line.number, bytes(line.raw), _REASON) for i, line in lost
        )
        kept_labels = sorted({labels[i] for i, line in occurrences if bytes(line.raw) == best_raw})
        conflicts.append(
            VariantConflict(
                uuid=uuid,
                kept_label=kept_labels[0],
                lost_labels=tuple(sorted({labels[i] for i, _ in lost})),
                diff=_diff_summary(kept_content, contents[bytes(lost[0][1].raw)]),
            )
        )
    return Resolution(
        winners=winners,
        set_aside=tuple(set_aside),
        conflicts=tuple(conflicts),
        exact_duplicates=exact,
    )
