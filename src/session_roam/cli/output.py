"""How roam talks to people and to scripts, and the one boundary file content crosses.

Human output goes through rich (colour only on a terminal, honouring NO_COLOR); ``--json``
output is one JSON document on stdout, and errors under ``--json`` are an envelope on stdout too
so a script reads one stream. Diagnostics and human-readable errors go to stderr.

Titles, prompts, cwds, file names, machine names and claim fields arrive through sync, so they
may come from a hostile peer. The consoles made here never parse a string as markup (only a
``Text`` built in code carries style) and make every control and bidi character visible
(``\x1b``, ``\u202e``) both before layout and in the final output, so no string from a file
can move the cursor, set the clipboard, open a hyperlink or reorder a line. ``--json`` keeps
the exact string (json escapes what it must).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from session_roam.cli.jsonout import emit_json
from session_roam.errors import ExitCode, RoamError
from session_roam.visible import plain

__all__ = [
    "ERROR_SCHEMA",
    "SafeConsole",
    "console",
    "emit_json",
    "err_console",
    "error_envelope",
    "human_size",
    "plain",
    "print_error",
    "print_tsv",
]

#: The versioned shape of every error under ``--json`` (docs/json.md).
ERROR_SCHEMA: Final = "roam.error/1"


class SafeConsole(Console):
    """A rich console that treats every string as text: no markup unless a ``Text`` says so,
    and no control byte from content in what reaches the terminal."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs["markup"] = False  # a title "[/bold]" is text, not a MarkupError
        return super().render_str(plain(text, newlines=True), **kwargs)

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        # The last line of defence: a Text built from raw content still shows escaped.
        safe = (
            seg if seg.control else Segment(plain(seg.text, newlines=True), seg.style)
            for seg in buffer
        )
        return super()._render_buffer(safe)


def print_tsv(out: Console, cells: Iterable[object]) -> None:
    """One tab-separated line for a pipe: each cell through ``plain`` (a tab inside a cell
    shows as ``\\x09``, so it cannot fake a column), joined by our own tabs, which the
    console would otherwise write out as ``\\x09`` too."""
    out.file.write("\t".join(plain(cell) for cell in cells) + "\n")
    out.file.flush()


def human_size(size: int) -> str:
    """Bytes for a person (``512 B``, ``1.5 KB``, ``3.2 GB``): the one formatter every command
    uses, so the same file never shows as two sizes."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def console() -> Console:
    """A console for results; rich turns colour off when stdout is not a terminal."""
    return SafeConsole(highlight=False, soft_wrap=True, markup=False)


def err_console() -> Console:
    return SafeConsole(stderr=True, highlight=False, soft_wrap=True, markup=False)


def error_envelope(kind: str, exit_code: int, message: str, hint: str) -> dict[str, Any]:
    """The ``roam.error/1`` document: ``code`` names the exit code, ``type`` the class."""
    name = ExitCode(exit_code).name.lower() if exit_code in set(ExitCode) else "failure"
    return {
        "schema": ERROR_SCHEMA,
        "error": {
            "code": name,
            "type": kind,
            "message": message,
            "hint": hint,
            "exit_code": exit_code,
        },
    }


def print_error(error: RoamError, *, as_json: bool) -> None:
    """The sentence and the hint; never a traceback for a foreseeable error."""
    if as_json:
        envelope = error_envelope(
            type(error).__name__, int(error.exit_code), error.message, error.hint
        )
        envelope["error"] |= error.details
        emit_json(envelope)
        return
    err = err_console()
    err.print(Text("error: ", style="bold red") + Text(plain(error.message, newlines=True)))
    if error.hint:
        err.print(Text("hint: ", style="dim") + Text(plain(error.hint, newlines=True)))
