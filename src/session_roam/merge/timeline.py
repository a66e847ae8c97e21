"""Merge diverged copies of one session into a single timeline Claude Code resumes whole.

The algorithm, in the order it runs:

0. A version that holds a fork between two writers (a take-over's fork point with branches from
   both machines, ``forks.py``) counts as one version per branch, so a fork inside one file is
   repaired exactly like a conflict copy.
1. Versions with identical bytes count once, and a version that is a byte prefix of another
   (a stale copy) adds nothing: if one version is left it is returned as it is.
2. The bytes every version shares are copied once, unparsed (``prefix.py``). If a uuid may
   repeat inside them, or between them and the rest, the merge parses everything instead.
3. Each version's remaining lines are cut into *turns* (``turns.py``). A turn starts at a
   typed user prompt whose parent is the row just before it on the main chain and that begins
   a new run (a new ``promptId``; without one, a parent that is not itself a prompt), or at a
   ``compact_boundary``; everything up to the next start travels with it: the assistant rows
   of a reply, their tool_use/tool_result pairs, attachment/progress rows, inline 1.0.x
   sidechains and the metadata lines written in between. The ``queue-operation`` lines just
   before a prompt belong to that prompt's turn.
4. A turn is known by the uuid of its first row, so the same turn in two versions is one node
   (its lines: the fullest copy, plus any line only another copy has).
   Turns are ordered by a topological sort of each version's own order, ties broken by the
   first row's timestamp (then uuid): one version's turns never swap, and the versions'
   turns interleave in time. The file is never sorted by timestamp. One exception to time
   order: a turn that a version's compaction never saw goes after that compact boundary,
   or the resumed model would never see it (the summary does not cover it).
5. The first row of a turn that now follows a different turn is re-parented onto that turn's
   last main-chain row. Compact boundaries keep ``parentUuid: null`` and their
   ``logicalParentUuid``/``compactMetadata`` untouched.
6. A uuid is written once. Copies that differ only in ``parentUuid`` are one record; copies
   that differ otherwise are compared with deepdiff, the one with the latest timestamp (then
   the longest, then the greatest bytes) is kept and the others are set aside.
7. If the versions had ``last-prompt`` rows, the file ends with one pointing at the merged
   leaf unless the last one already does. A file that never had one gets none: 2.1.331 then
   resumes from the last message row in file order, which is the merged leaf.

8. Every tool_use the merged chain goes on from is answered right after its reply: a result
   found elsewhere is moved there, one found nowhere is written as Claude Code writes an
   interrupted call's (``pairs.py``).

Unparseable lines (torn, non-UTF-8, non-JSON) outside the shared bytes are set aside, since
some 2.1.x builds stop reading at the first bad line; inside the shared bytes they are left
where every version already had them.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from session_roam.errors import MergeError
from session_roam.merge.forks import record_continuations, split_version_forks
from session_roam.merge.model import MergeOutcome, SetAside
from session_roam.merge.order import HEAD, after_compaction, moved_turns, order_turns
from session_roam.merge.pairs import close_tool_pairs
from session_roam.merge.prefix import (
    SharedPrefix,
    common_prefix_length,
    count_rows,
    read_shared_prefix,
)
from session_roam.merge.records import Line, parse_line, reparent, same_bytes
from session_roam.merge.report import MergeReport
from session_roam.merge.turns import segment
from session_roam.merge.variants import resolve_duplicates

if TYPE_CHECKING:
    from collections.abc import Sequence

    from session_roam.merge.model import Version
    from session_roam.merge.variants import Resolution

__all__ = ["merge_versions"]

_TOOL_USE: Final = b'"tool_use"'
_Tagged = tuple[int, Line, int]  # (version index, line, copy: 0 the fullest, n the n-th other)


def merge_versions(versions: Sequence[Version]) -> MergeOutcome:
    """Merge copies of one session file into one; see the module docstring for the rules.

    Deterministic and independent of the order of ``versions`` (labels only name things in
    the report and in ``set_aside``). Raises ``MergeError`` only when given nothing to merge.
    """
    if not versions:
        raise MergeError("There is no version of the session to merge.")
    versions, forks, points = split_version_forks(versions)
    datas, labels, index_of = _distinct(versions)
    kept = [i for i, d in enumerate(datas) if not any(o != d and o.startswith(d) for o in datas)]
    superseded = tuple(sorted(labels[i] for i in range(len(datas)) if i not in kept))
    if len(kept) == 1:
        return _as_is(versions, datas, labels, index_of, kept[0], superseded)
    kept_datas = [datas[i] for i in kept]
    kept_labels = [labels[i] for i in kept]
    prefix = read_shared_prefix(kept_datas[0], common_prefix_length(kept_datas))
    tails = [_parse_suffix(data, prefix) for data in kept_datas]
    if _prefix_unsafe(prefix, tails):
        prefix = read_shared_prefix(kept_datas[0], 0)
        tails = [_parse_suffix(data, prefix) for data in kept_datas]
    rows_in = {i: count_rows(datas[i]) for i in range(len(datas)) if i not in kept}
    for i, lines in zip(kept, tails, strict=True):
        rows_in[i] = prefix.uuid_count + sum(1 for line in lines if line.kind == "row")
    counts = sorted((v.label, rows_in[index_of[n]]) for n, v in enumerate(versions))
    outcome = _merge(kept_datas, kept_labels, prefix, tails, counts, superseded)
    if not forks:
        return outcome
    data = record_continuations(outcome.data, outcome.report.leaf, points)
    as_is = outcome.report.kept_as_is if data is outcome.data else None
    report = replace(outcome.report, forks_split=forks, kept_as_is=as_is)
    return replace(outcome, data=data, report=report)


def _distinct(versions: Sequence[Version]) -> tuple[list[bytes], list[str], list[int]]:
    """The distinct contents (sorted), the first label of each, and each version's content.

    Compared, never used as dict keys: hashing a 100 MB ``bytes`` reads all of it, while
    comparing two different versions stops at their first difference (or their lengths).
    """
    groups: list[tuple[bytes, list[str]]] = []
    for version in versions:
        same = next((g for g in groups if g[0] == version.data), None)
        if same is None:
            groups.append((version.data, [version.label]))
        else:
            same[1].append(version.label)
    groups.sort(key=lambda group: group[0])
    datas = [data for data, _ in groups]
    index_of = [next(i for i, d in enumerate(datas) if d == v.data) for v in versions]
    return datas, [min(names) for _, names in groups], index_of


def _as_is(
    versions: Sequence[Version],
    datas: list[bytes],
    labels: list[str],
    index_of: list[int],
    keep: int,
    superseded: tuple[str, ...],
) -> MergeOutcome:
    rows = [count_rows(data) for data in datas]
    report = MergeReport(
        labels=tuple(sorted(version.label for version in versions)),
        records_per_version=tuple(
            sorted((v.label, rows[i]) for v, i in zip(versions, index_of, strict=True))
        ),
        records_out=rows[keep],
        turns_moved=0,
        reparented=(),
        conflicts=(),
        unparseable_lines=0,
        pure_prefix=bool(superseded),
        kept_as_is=labels[keep],
        superseded=superseded,
        shared_prefix_bytes=min(len(d) for d in datas),
        exact_duplicates=0,
        last_prompt_added=False,
        leaf=None,
    )
    return MergeOutcome(data=datas[keep], set_aside=(), report=report)


def _parse_suffix(data: bytes, prefix: SharedPrefix) -> list[Line]:
    """Parse every line after the shared bytes, as views of ``data`` (no copies kept)."""
    view = memoryview(data)
    lines: list[Line] = []
    start, size, number = prefix.end, len(data), prefix.lines
    while start < size:
        stop = data.find(b"\n", start)
        stop = size if stop < 0 else stop
        number += 1
        lines.append(parse_line(view[start:stop], number, start))
        start = stop + 1
    return lines


def _prefix_unsafe(prefix: SharedPrefix, tails: list[list[Line]]) -> bool:
    """True when a uuid may repeat inside the shared bytes or between them and a suffix."""
    if prefix.end == 0:
        return False
    if not prefix.uuids_exact or prefix.uuid_count != len(prefix.uuids):
        return True
    return any(line.uuid in prefix.uuids for lines in tails for line in lines if line.uuid)


def _fullness(raws: tuple[bytes, ...], lines: list[Line]) -> tuple[int, int, tuple[bytes, ...]]:
    return (sum(1 for line in lines if line.kind == "row"), len(raws), raws)


def _raws(lines: list[Line]) -> tuple[bytes, ...]:
    return tuple(bytes(line.raw) for line in lines)


def _same_raws(a: list[Line], b: list[Line]) -> bool:
    return len(a) == len(b) and all(same_bytes(x, y) for x, y in zip(a, b, strict=True))


def _union(candidates: list[tuple[int, list[Line]]]) -> list[_Tagged]:
    """One turn seen by several versions: the fullest copy, plus lines only others have.

    Each line is tagged with the copy it comes from (0: the fullest), so that ``_assemble`` can
    attach the first row only another copy has to the end of what came before it: two machines
    that each answered the same prompt (a late reply after a take-over) both stay on the chain.
    """
    first_index, first_lines = candidates[0]
    if all(_same_raws(lines, first_lines) for _, lines in candidates[1:]):  # the common case
        return [(first_index, line, 0) for line in first_lines]
    distinct: dict[tuple[bytes, ...], tuple[int, list[Line]]] = {}
    for index, lines in candidates:
        distinct.setdefault(_raws(lines), (index, lines))
    ranked = sorted(distinct.items(), key=lambda item: _fullness(item[0], item[1][1]), reverse=True)
    primary_raws, (primary_index, primary) = ranked[0]
    out: list[_Tagged] = [(primary_index, line, 0) for line in primary]
    have = Counter(primary_raws)
    for copy, (raws, (index, lines)) in enumerate(ranked[1:], 1):
        if primary_raws[: len(raws)] == raws:
            continue
        need: Counter[bytes] = Counter()
        for line in lines:
            raw = bytes(line.raw)
            need[raw] += 1
            if need[raw] > have[raw]:
                have[raw] += 1
                out.append((index, line, copy))
    return out


def _merge(
    datas: list[bytes],
    labels: list[str],
    prefix: SharedPrefix,
    tails: list[list[Line]],
    counts: list[tuple[str, int]],
    superseded: tuple[str, ...],
) -> MergeOutcome:
    per_version = [segment(lines, prefix.tail) for lines in tails]
    by_key: dict[str, list[tuple[int, list[Line]]]] = {}
    stamps: dict[str, str] = {}
    versions_of: dict[str, set[int]] = {}
    boundaries: set[str] = set()
    for index, segments in enumerate(per_version):
        for key, lines in segments:
            by_key.setdefault(key, []).append((index, lines))
            if key != HEAD:
                first = next(line for line in lines if line.uuid == key)
                stamps[key] = min(stamps.get(key, first.timestamp), first.timestamp)
                versions_of.setdefault(key, set()).add(index)
                if first.boundary:
                    boundaries.add(key)
    sequences = [[key for key, _ in segments[1:]] for segments in per_version]
    order = order_turns(sequences, stamps, after_compaction(boundaries, versions_of))
    resolution = resolve_duplicates(tails, labels)
    out, set_aside, state = _assemble(datas, labels, prefix, by_key, order, resolution)
    # Only views of the inputs are left in ``out``: drop every parsed line before joining, so
    # the peak is the inputs plus the output, not plus a copy of every line as well.
    per_version.clear()
    by_key.clear()
    for lines in tails:
        lines.clear()
    data = b"".join(out)
    closed = 0
    if state.pairs_at_risk:
        data, closed = close_tool_pairs(data, prefix.end)
    kept_as_is = next((label for d, label in zip(datas, labels, strict=True) if d == data), None)
    report = MergeReport(
        labels=tuple(label for label, _ in counts),
        records_per_version=tuple(counts),
        records_out=prefix.uuid_count + state.records,
        turns_moved=moved_turns(order, sequences),
        reparented=tuple(state.reparented),
        conflicts=resolution.conflicts,
        unparseable_lines=sum(1 for item in set_aside if item.reason != "duplicate-uuid-variant"),
        pure_prefix=False,
        kept_as_is=kept_as_is,
        superseded=superseded,
        shared_prefix_bytes=prefix.end,
        exact_duplicates=resolution.exact_duplicates,
        last_prompt_added=state.last_prompt_added,
        leaf=state.tail,
        tool_pairs_closed=closed,
    )
    set_aside.extend(resolution.set_aside)
    set_aside.sort(key=lambda item: (item.label, item.line_number, item.raw))
    return MergeOutcome(data=data, set_aside=tuple(set_aside), report=report)


class _State:
    """Running facts while the output is written (mutable on purpose, private)."""

    __slots__ = (
        "last_prompt",
        "last_prompt_added",
        "pairs_at_risk",
        "records",
        "reparented",
        "tail",
        "tail_raw",
    )

    def __init__(self, prefix: SharedPrefix) -> None:
        self.tail: str | None = prefix.tail.uuid if prefix.tail is not None else None
        self.tail_raw: bytes | memoryview = prefix.tail.raw if prefix.tail is not None else b""
        # A tool pair can only come apart where copies of one turn differ, or where a turn
        # follows a reply that calls a tool: only then is the merged file checked.
        self.pairs_at_risk = False
        self.last_prompt: Line | None = prefix.last_prompt
        self.records = 0
        self.reparented: list[tuple[str, str]] = []
        self.last_prompt_added = False


def _assemble(
    datas: list[bytes],
    labels: list[str],
    prefix: SharedPrefix,
    by_key: dict[str, list[tuple[int, list[Line]]]],
    order: list[str],
    resolution: Resolution,
) -> tuple[list[bytes | memoryview], list[SetAside], _State]:
    views = [memoryview(data) for data in datas]
    out: list[bytes | memoryview] = [views[0][: prefix.end]]
    set_aside: list[SetAside] = []
    state = _State(prefix)
    emitted: set[str] = set()
    head = _union(by_key[HEAD]) if HEAD in by_key else []
    for key, tagged in [(HEAD, head)] + [(key, _union(by_key[key])) for key in order]:
        joined: set[int] = {0}
        for index, line, copy in tagged:
            if line.kind == "unparseable":
                item = SetAside(labels[index], line.number, bytes(line.raw), line.reason)
                set_aside.append(item)
                continue
            if line.kind == "meta":
                out += (_view(views, index, line), b"\n")
                if line.type == "last-prompt":
                    state.last_prompt = line
                continue
            assert line.uuid is not None  # noqa: S101 - kind "row" always has a uuid
            if line.uuid in emitted:
                continue
            emitted.add(line.uuid)
            chosen = resolution.winners.get(line.uuid, line)
            raw: bytes | memoryview = (
                chosen.raw if chosen is not line else _view(views, index, line)
            )
            tail = state.tail
            first_of_copy = copy not in joined and not chosen.sidechain
            if first_of_copy:
                joined.add(copy)
            moves = line.uuid == key or (first_of_copy and _continues(chosen))
            if moves and not chosen.boundary and tail not in (None, chosen.parent):
                raw = reparent(chosen.raw, tail)
                state.reparented.append((line.uuid, tail))
            if line.uuid == key:  # a turn after a reply that calls a tool: is it answered?
                state.pairs_at_risk |= _TOOL_USE in bytes(state.tail_raw)  # a view: copy it
            state.pairs_at_risk |= copy != 0
            out += (raw, b"\n")
            state.records += 1
            if not chosen.sidechain:
                state.tail = line.uuid
                state.tail_raw = raw
    _close_with_last_prompt(out, state)
    return out, set_aside, state


def _continues(line: Line) -> bool:
    """A row that carries the conversation on: not a tool_result, which stays on its tool_use."""
    return line.type != "user" or line.prompt_like


def _view(views: list[memoryview], index: int, line: Line) -> bytes | memoryview:
    """The line as a view of its version's bytes (never a copy)."""
    if isinstance(line.raw, memoryview) or line.offset < 0:
        return line.raw
    return views[index][line.offset : line.offset + len(line.raw)]


def _close_with_last_prompt(out: list[bytes | memoryview], state: _State) -> None:
    """End with one last-prompt naming the merged leaf, if the session used them at all."""
    template = state.last_prompt
    if template is None or state.tail is None or template.leaf == state.tail:
        return
    obj = json.loads(str(template.raw, "utf-8"))
    obj["leafUuid"] = state.tail
    for stale in ("rewound", "cutUuid", "explicit"):  # described a rewind, not this checkpoint
        obj.pop(stale, None)
    out += (json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), b"\n")
    state.last_prompt_added = True
