"""roam's exit code once claude has ended, shared by every command that launches claude.

claude's own status is never roam's: its 1..127 would read as roam's documented codes (2 is
"invalid input", 5 "lease held"...). A launch exits 0 when claude did and ``CLAUDE_EXITED``
otherwise, with claude's status on one stderr line. Kept free of typer and rich, because the
fast ``roam cr`` path uses it too.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from session_roam.errors import claude_exit_code

__all__ = ["exit_code_after_claude"]


def exit_code_after_claude(status: int, signals: Sequence[int] = ()) -> int:
    """Say claude's non-zero status on stderr and return roam's code for it; 128+N when roam
    itself received signal N while claude ran (and passed it on), as for any stopped program."""
    if status != 0:
        sys.stderr.write(f"roam: claude exited with status {status}\n")
        sys.stderr.flush()
    if signals:
        return 128 + signals[-1]
    return claude_exit_code(status)
