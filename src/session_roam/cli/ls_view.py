"""``roam ls`` for many sessions: JSON written as it goes, rows drawn as they go, a pager.

A rich table measures every cell before it prints the first row: at 50,000 sessions that is
most of the command. Past ``TABLE_MAX_ROWS`` rows the list is drawn line by line with fixed
column widths instead, and on a terminal it goes through the pager (``$PAGER``, else
``less -R``, with ``LESS=FRX`` unless set: quit at once when it fits, keep colours, leave the
screen as it was), so the first screen shows before the last row is formatted.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from typing import IO, TYPE_CHECKING, Final

from session_roam.cli.ls_json import write_json_array
from session_roam.cli.output import human_size, plain
from session_roam.cli.search import short_time

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from session_roam.engine.sessions import SessionSummary

__all__ = ["TABLE_MAX_ROWS", "live_cell", "stream_json", "stream_rows", "write_json_array"]

TABLE_MAX_ROWS: Final = 500


def stream_json(items: Iterable[SessionSummary], out: IO[str] | None = None) -> None:
    """One JSON array, written a batch of sessions at a time (the same keys as ``as_json``)."""
    write_json_array((s.json_text() for s in items), out)


def live_cell(s: SessionSummary) -> str:
    """Where the session is live (``nat-mbp (claude running)``), else who wrote it last."""
    if s.lease_holder:
        return f"{s.lease_holder} ({'claude running' if s.claude_running else 'leased'})"
    return s.last_writer or ""


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _lines(
    summaries: Iterable[SessionSummary], width: int, *, all_projects: bool, leases: bool
) -> Iterator[str]:
    fixed = 8 + 16 + 5 + 7 + 2 + (24 if leases else 0) + 6 * 2
    free = max(20, width - fixed)
    name_w = free // 2 if all_projects else free
    cwd_w = free - name_w
    head = f"{'id':<8}  {'name / first prompt':<{name_w}}  {'last activity':<16}  {'turns':>5}  "
    head += f"{'size':>7}  {'c':>2}" + (f"  {'writer':<22}" if leases else "")
    yield head + (f"  {'cwd'}" if all_projects else "")
    for s in summaries:
        label = plain(s.title or s.first_prompt or "(no prompt yet)")
        turns = "unread" if s.unreadable else str(s.turns)
        line = f"{s.session_id[:8]}  {_fit(label, name_w):<{name_w}}  "
        line += f"{short_time(s.last_activity):<16}  {turns:>5}  {human_size(s.size):>7}  "
        line += f"{s.conflict_copies or '':>2}"
        if leases:
            line += f"  {_fit(plain(live_cell(s)), 22):<22}"
        if all_projects:
            line += f"  {_fit(plain(s.local_cwd or '?'), cwd_w)}"
        yield line


def _pager() -> list[str] | None:
    command = shlex.split(os.environ.get("PAGER", "") or "less -R")
    if not command or shutil.which(command[0]) is None:
        return None
    return command


def stream_rows(
    summaries: Iterable[SessionSummary], *, all_projects: bool, leases: bool, count: int
) -> None:
    """The sessions one line each (``count`` of them at most), through the pager when stdout
    is a terminal that they overflow; straight to stdout otherwise."""
    size = shutil.get_terminal_size((120, 40))
    tty = sys.stdout.isatty()
    width = size.columns if tty else 160
    lines = _lines(summaries, width, all_projects=all_projects, leases=leases)
    pager = _pager() if tty and count + 1 > size.lines else None
    if pager is None:
        write = sys.stdout.write
        for line in lines:
            write(line + "\n")
        sys.stdout.flush()
        return
    env = {**os.environ, "LESS": os.environ.get("LESS", "FRX")}
    proc = subprocess.Popen(pager, stdin=subprocess.PIPE, env=env, text=True)
    try:
        if proc.stdin is not None:
            for line in lines:
                proc.stdin.write(line + "\n")
            proc.stdin.close()
    except BrokenPipeError:
        pass  # the reader quit the pager before the end: nothing more to show
    finally:
        proc.wait()
