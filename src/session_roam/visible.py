"""The one rule for showing a string from a file to a person: every control character visible.

Titles, prompts, cwds, file names, machine names and claim fields arrive through sync, so a
hostile peer can put ``ESC[2J``, OSC 52 (the clipboard), C1 controls or a bidi override in
them. The CLI's consoles (``cli.output``) pass every string through ``plain``; so does any text
roam hands to another program to show, such as the old holder's prompt sentence that Claude
Code prints. It sits on the ground floor so both the engine and the CLI use this one rule.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["plain"]

# C0 (but newline, which separates lines of our own output), DEL, C1, and the bidi controls
# and separators that reorder or break a line without being seen.
_INVISIBLE: Final = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(value: object, *, newlines: bool = False) -> str:
    """``value`` as text a terminal shows as it is: every control and bidi character written
    out (``\\x1b``); a newline too unless ``newlines`` keeps it (our own multi-line text)."""
    text = _INVISIBLE.sub(_visible, str(value))
    return text if newlines else text.replace("\n", "\\n")
