"""Does a ``.stignore`` keep what must sync? A small model of Syncthing's ignore patterns.

Enough of the syntax to answer "would this file be ignored" for the handful of paths roam
needs to travel: ``//`` comments, ``(?d)``/``(?i)`` prefixes, ``!`` negation, a leading ``/``
anchoring at the folder root, ``**``, ``*``, ``?`` and ``[...]``; a pattern that matches a
folder ignores everything below it; the first matching pattern wins (as in Syncthing).
``#include`` lines cannot be followed here and are skipped.
"""

from __future__ import annotations

import re
from typing import Final

from session_roam.engine.syncthing.ignore import patterns

__all__ = ["MUST_SYNC", "ignored", "ignored_must_sync", "missing_patterns"]

#: Paths (relative to the projects folder) that roam needs on every machine.
MUST_SYNC: Final = (
    "-home-user-proj/0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40.jsonl",
    "-home-user-proj/0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40/subagents/agent-a1b2c3d.jsonl",
    "-home-user-proj/0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40/tool-results/toolu_01.txt",
    "-home-user-proj/0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40/custom-title.json",
    "-home-user-proj/memory/MEMORY.md",
    "-home-user-proj/0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40.sync-conflict-20261125-120000-ABCDEFG.jsonl",
    ".roam/leases/0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40/DEVICE.json",
    ".roam/nodes/DEVICE.json",
)
_PREFIX_RE: Final = re.compile(r"^\((\?[di])\)")


def _regex(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = glob.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                out.append(glob[i : end + 1])
                i = end + 1
                continue
        elif char == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _compile(line: str) -> tuple[re.Pattern[str], bool] | None:
    """(regex over a whole path or any of its parent folders, is-negation); None: not a rule."""
    text = line.strip()
    if not text or text.startswith("//") or text.startswith("#include"):
        return None
    flags = 0
    while match := _PREFIX_RE.match(text):
        if match.group(1) == "?i":
            flags |= re.IGNORECASE
        text = text[match.end() :]
    negate = text.startswith("!")
    if negate:
        text = text[1:]
    while match := _PREFIX_RE.match(text):
        if match.group(1) == "?i":
            flags |= re.IGNORECASE
        text = text[match.end() :]
    body = _regex(text.lstrip("/")) if text.startswith("/") else f"(?:.*/)?{_regex(text)}"
    return re.compile(f"{body}(?:/.*)?", flags), negate


def ignored(path: str, text: str) -> bool:
    """Whether ``path`` would be ignored under the ``.stignore`` ``text``."""
    for line in text.splitlines():
        compiled = _compile(line)
        if compiled is None:
            continue
        regex, negate = compiled
        if regex.fullmatch(path):
            return not negate
    return False


def ignored_must_sync(text: str) -> tuple[str, ...]:
    """The paths of ``MUST_SYNC`` that ``text`` would keep from syncing."""
    return tuple(path for path in MUST_SYNC if ignored(path, text))


def missing_patterns(text: str, template: str) -> tuple[str, ...]:
    """Template patterns the file lacks (the user's own extra lines are theirs to keep)."""
    have = set(patterns(text))
    return tuple(p for p in patterns(template) if p not in have)
