"""How roam talks to people and to scripts.

Human output goes through rich (colour only on a terminal, honouring NO_COLOR); ``--json``
output is one JSON document on stdout, and errors under ``--json`` are an envelope on stdout too
so a script reads one stream. Diagnostics and human-readable errors go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console

from session_roam.errors import RoamError

__all__ = ["console", "emit_json", "err_console", "print_error"]

JsonValue = Mapping[str, Any] | Sequence[Any]


def console() -> Console:
    """A console for results; rich turns colour off when stdout is not a terminal."""
    return Console(highlight=False, soft_wrap=True)


def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(data: JsonValue) -> None:
    """One JSON document, keys in a stable order, on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def print_error(error: RoamError, *, as_json: bool) -> None:
    """The sentence and the hint; never a traceback for a foreseeable error."""
    if as_json:
        emit_json(
            {
                "error": {
                    "type": type(error).__name__,
                    "message": error.message,
                    "hint": error.hint,
                    "exit_code": int(error.exit_code),
                }
            }
        )
        return
    err = err_console()
    err.print(f"[bold red]error:[/] {error.message}", markup=True)
    if error.hint:
        err.print(f"[dim]hint:[/] {error.hint}", markup=True)
