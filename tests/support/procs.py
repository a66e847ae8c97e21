"""This machine's processes as the tests look for them: what a run left behind."""

from __future__ import annotations

from pathlib import Path

__all__ = ["processes_mentioning"]


def processes_mentioning(text: str) -> dict[int, str]:
    """Every running process whose command line contains ``text``: pid -> command line."""
    found: dict[int, str] = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in argv:
            found[int(cmdline.parent.name)] = argv
    return found
