"""Issue 16's paired figures for ``bench.cr.served_phases``: each served run against the claude
alone run of the same round, and roam's own time against another checkout's (``--code``)."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    Row = dict[str, float]

__all__ = ["against", "paired"]

_GOAL_MS: Final = 150

_DIRECT: Final = "claude -r ID -p X alone (spawn -> exit)"
_TOTAL: Final = "total (client spawn -> client exit)"


def _own(row: Row) -> float:
    """Roam's own time in a run: before claude starts and after it exits."""
    return row["== client spawn -> claude starts"] + row["== claude exit -> client exit"]


#: What a ``--code`` comparison looks for (issue 16, session 8): roam's own time cut by 40 ms.
_CUT_GOAL_MS: Final = 40


def against(rows: Mapping[str, list[Row]]) -> None:
    """Each version's roam's own time against the same version's under ``--code NAME``: the
    median of the per-round differences (the runs of one round are adjacent)."""
    for name, runs in rows.items():
        version, _, code = name.partition(":")
        if not code or version not in rows:
            continue
        pairs = list(zip(rows[version], runs, strict=True))
        cut = statistics.median(_own(b) - _own(a) for a, b in pairs) * 1000
        start, end = (
            statistics.median(b[key] - a[key] for a, b in pairs) * 1000
            for key in ("== client spawn -> claude starts", "== claude exit -> client exit")
        )
        verdict = "MET" if cut >= _CUT_GOAL_MS else "NOT met"
        print(
            f"  {version:10s} roam's own time {cut:.0f} ms shorter here than under {code} "
            f"per round ({verdict}, goal {_CUT_GOAL_MS} ms): before claude {start:.0f}, "
            f"after it {end:.0f}"
        )


def paired(rows: Mapping[str, list[Row]]) -> None:
    """Issue 16's measure from the same rounds, each served run less the claude alone run
    just after it: the median of those differences is steadier than the difference of the
    medians when claude's own time wanders by ±150 ms. Split into roam's own time (before
    claude starts and after it exits) and how much longer claude ran under roam."""
    print("\nserved roam cr over claude alone, per round (paired), median ms:")
    for name, runs in rows.items():
        over = [row[_TOTAL] - row[_DIRECT] for row in runs]
        own = [_own(row) for row in runs]
        slower = [row["claude (start -> exit)"] - row["its claude (start -> exit)"] for row in runs]
        ms = [statistics.median(values) * 1000 for values in (over, own, slower)]
        verdict = "MET" if ms[0] <= _GOAL_MS else "NOT met"
        print(
            f"  {name:10s} +{ms[0]:.0f} ms ({verdict}, goal +{_GOAL_MS}): roam's own "
            f"{ms[1]:.0f} ms, claude under roam ran {ms[2]:+.0f} ms longer than alone"
        )
