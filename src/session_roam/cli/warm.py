"""``roam``'s entry point: the warm ``roam cf --json --all`` answered before anything else loads.

A script that searches in a loop pays the interpreter's start-up on every call; this path adds
only ``sqlite3``, ``json`` and the lookup (``engine.sessions.warm_search``), and only when
``roam watch`` keeps the index current. Every other command line, and this one whenever the
index cannot be trusted as it stands, goes to ``cli.fast.main`` unchanged, which answers it
the usual way (the same output: the lookup is the same function on the same index).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not from typing, nor json: each costs milliseconds of this path
if TYPE_CHECKING:
    from typing import Any

__all__ = ["dumps", "main", "parse_warm_cf"]

_NO_MATCH = 8  # errors.ExitCode.NO_MATCH, not imported: errors loads enum and typing


class _Escapes(dict[int, str]):
    """``str.translate`` table of ``json.dumps``' escapes (``ensure_ascii``), filled on use."""

    def __missing__(self, code: int) -> str:
        if 0x20 <= code < 0x7F:  # printable ASCII but '"' and '\\', which are in the table
            raise KeyError(code)  # translate leaves the character as it is
        if code >= 0x10000:  # a surrogate pair, as json writes it
            code -= 0x10000
            escape = f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"
        else:
            escape = f"\\u{code:04x}"
        self[code] = escape
        return escape


_ESCAPES = _Escapes(
    {0x22: '\\"', 0x5C: "\\\\", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
)


def dumps(value: Any, indent: str = "") -> str:
    """``json.dumps(value, indent=2, sort_keys=True)`` for what ``Match.as_json`` holds (str,
    None, bool, int, float, lists and dicts of them), without importing ``json``."""
    inner = indent + "  "
    if isinstance(value, str):
        return '"' + value.translate(_ESCAPES) + '"'
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, float):
        text = repr(value)
        return {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}.get(text, text)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{dumps(key)}: {dumps(value[key], inner)}" for key in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if not value:
        return "[]"
    return "[\n" + ",\n".join(inner + dumps(item, inner) for item in value) + "\n" + indent + "]"


def parse_warm_cf(argv: list[str]) -> tuple[list[str], int] | None:
    """(words, limit) of exactly ``cf WORDS --json --all [--limit N]`` in any order, else None."""
    if not argv or argv[0] != "cf":
        return None
    words: list[str] = []
    flags: set[str] = set()
    limit = 20
    rest = iter(argv[1:])
    for arg in rest:
        if arg in ("--json", "--all", "-a"):
            flags.add("--all" if arg == "-a" else arg)
        elif arg in ("--limit", "-n"):
            value = next(rest, "")
            if not value.isdigit():
                return None
            limit = int(value)
        elif arg.startswith("-"):
            return None  # "--", "--limit=5", help, a word that starts with a dash: the full path
        else:
            words.append(arg)
    return (words, limit) if flags == {"--json", "--all"} and words else None


def _warm_cf(argv: list[str]) -> int | None:
    parsed = parse_warm_cf(argv)
    if parsed is None or "_ROAM_COMPLETE" in os.environ:
        return None
    config = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):
        cache = os.path.join(os.path.expanduser("~"), ".cache")
    from session_roam.engine.sessions import warm_search

    db_path = os.path.join(cache, "session-roam", "search.sqlite3")
    root = os.path.join(os.path.expanduser(config), "projects")
    matches = warm_search(db_path, root, parsed[0], parsed[1])
    if matches is None:
        return None
    sys.stdout.write(dumps([match.as_json() for match in matches]) + "\n")
    sys.stdout.flush()
    return 0 if matches else _NO_MATCH


def main() -> None:
    """Console entry point: the warm search when it applies, else ``cli.fast.main``."""
    code = _warm_cf(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from session_roam.cli.fast import main as fast_main

    fast_main()
