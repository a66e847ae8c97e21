"""roam's entry point and its one start-up fast path, for the command lines whose start-up
time people feel.

``roam cf ... --json`` and ``roam ls --json`` are what scripts call in a loop, and ``roam cr``
stands between a person and claude. Through typer, each pays for typer itself and for pydantic,
which typer 0.29 builds a validator with for every parameter it parses (0.2-0.3 s here, more
than the work). So this entry point recognises the plain forms of those commands with the
standard library and the engine only, and hands every other command line (help, completion,
anything it does not fully understand) to the full app unchanged. Output and exit codes are the
same as the full command's: ``cf`` runs the same body (``cli.search.run_cf``), ``ls`` too
(``cli.ls_json``, via ``cli.fast_ls``), ``cr`` the same engine call (``cli.fast_cr``);
tests/cli/test_fast_parity.py, test_fast_ls.py, test_fast_cr.py and test_warm_cf.py hold them to
it. Where ``roam watch`` runs, ``cr`` is first offered to its cr server (``cli.crclient``), whose
forked child runs that same ``cli.fast_cr`` body with this process's argv, cwd, environment and
fds; anything in doubt comes back here (docs/design/cr-server.md).

The one search a script repeats, ``cf WORDS --json [--all]`` with ``roam watch`` keeping the
index current, is answered first with only ``sqlite3`` and the lookup ``warm_search`` (the same
function the full ``cf`` ends in; without ``--all`` the scope is this directory's project
folder, from ``warm_scope`` where ``os`` alone can tell it, as it can but with path mappings, a
fixed project folder name or a case-insensitive file system): this module imports nothing but
``os`` and ``sys`` at the
top, and writes the JSON itself (``dumps``, checked against ``json.dumps`` by a property
test), because ``typing`` and ``json`` (with ``re``) each cost more milliseconds than the
lookup.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not from typing: it costs milliseconds of the warm search
if TYPE_CHECKING:
    from typing import Any, Final

__all__ = ["dumps", "main", "parse_fast_cf", "run_fast_cf"]

_FLAGS: Final = frozenset({"--json", "--all", "-a"})
_VALUED: Final = frozenset({"--limit", "-n", "--claude-dir"})


def parse_fast_cf(argv: list[str]) -> dict[str, Any] | None:
    """The options of ``[--json] [--claude-dir D] cf WORDS [--json] [--all] [--limit N]``, or
    None when the command line is anything else (the full app then parses it).

    The keys are ``run_cf``'s parameters; tests/cli/test_fast_parity.py checks, for generated
    command lines, that the full app parses each one this accepts to the same values.
    """
    options: dict[str, Any] = {"json": False, "all": False, "limit": 20, "claude_dir": None}
    words: list[str] = []
    seen_cf = False
    items = iter(argv)
    for arg in items:
        name, eq, inline = arg.partition("=")
        if arg in _FLAGS:
            if arg == "--json":
                options["json"] = True
            elif not seen_cf:
                return None
            else:
                options["all"] = True
        elif name in _VALUED:
            value = inline if eq else next(items, None)
            if value is None or (name == "--claude-dir") == seen_cf:
                return None
            if name == "--claude-dir":
                if not value or value.startswith("-"):
                    return None
                options["claude_dir"] = value
            elif value.isascii() and value.isdigit():
                options["limit"] = int(value)
            else:
                return None
        elif arg.startswith("-") or not arg:
            return None  # --help, --, --verbose, unknown: the full app decides
        elif not seen_cf:
            if arg != "cf":
                return None
            seen_cf = True
        else:
            words.append(arg)
    if not (seen_cf and options["json"] and words):
        return None
    options["words"] = words
    return options


def run_fast_cf(options: dict[str, Any]) -> int:
    """``cli.sessions.cf`` under ``cli.app``'s root callback and error boundary: the same
    body (``cli.search.run_cf``) and the same error envelope (``cli.output.print_error``)."""
    from pathlib import Path

    from session_roam.cli.context import Settings
    from session_roam.cli.search import run_cf
    from session_roam.errors import RoamError

    override = options["claude_dir"] or os.environ.get("CLAUDE_CONFIG_DIR") or None
    settings = Settings(json=True, claude_dir=Path(override) if override else None)
    try:
        return run_cf(
            settings, options["words"], all_projects=options["all"], limit=options["limit"]
        )
    except RoamError as error:
        from session_roam.cli.output import print_error

        print_error(error, as_json=True)
        return int(error.exit_code)


_NO_MATCH = 8  # errors.ExitCode.NO_MATCH, not imported: errors loads enum and typing


class _Escapes(dict[int, str]):
    """``str.translate`` table of ``json.dumps``' escapes (``ensure_ascii``), filled on use
    (printable ASCII maps to itself: a miss would raise KeyError, ~0.4 µs a character)."""

    def __missing__(self, code: int) -> str:
        if code >= 0x10000:  # a surrogate pair, as json writes it
            high, low = divmod(code - 0x10000, 0x400)
            escape = f"\\u{0xD800 | high:04x}\\u{0xDC00 | low:04x}"
        else:
            escape = f"\\u{code:04x}"
        self[code] = escape
        return escape


_ESCAPES = _Escapes(
    {code: chr(code) for code in range(0x20, 0x7F)}
    | {0x22: '\\"', 0x5C: "\\\\", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
)


def dumps(value: Any, indent: str = "") -> str:
    """``json.dumps(value, indent=2, sort_keys=True)`` for what ``Match.as_json`` holds (str,
    None, bool, int, float, lists and dicts of them), without importing ``json``."""
    inner = indent + "  "
    if isinstance(value, str):
        if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
            return '"' + value + '"'  # nothing to escape: most of what a match holds
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


def _xdg(variable: str, default: str) -> str:
    """An XDG base folder: the variable when it holds an absolute path, else ~/``default``."""
    value = os.environ.get(variable, "")
    return value if os.path.isabs(value) else os.path.join(os.path.expanduser("~"), default)


def _warm_cf(options: dict[str, Any]) -> int | None:
    """The lookup alone, when ``roam watch`` keeps the index current (``warm_search``; None
    when it cannot be trusted as it stands, and ``run_fast_cf`` then answers the usual way)."""
    if options["claude_dir"] is not None:
        return None
    config = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
    root = os.path.join(os.path.expanduser(config), "projects")
    scope = None
    if not options["all"]:  # this directory's sessions, when os alone can tell which they are
        from session_roam.engine.sessions import warm_scope

        scope = warm_scope(root, os.path.join(_xdg("XDG_CONFIG_HOME", ".config"), "session-roam"))
        if scope is None:
            return None
    from session_roam.engine.sessions import warm_search

    cache = os.path.join(_xdg("XDG_CACHE_HOME", ".cache"), "session-roam")
    matches = warm_search(cache, root, options["words"], options["limit"], scope)
    if matches is None:
        return None
    sys.stdout.write(dumps([match.as_json() for match in matches]) + "\n")
    sys.stdout.flush()
    return 0 if matches else _NO_MATCH


def main() -> None:
    """Console entry point: the warm search, else a fast path when one applies, else the full
    ``roam``."""
    import gc

    try:
        argv = sys.argv[1:]
        if "_ROAM_COMPLETE" not in os.environ:  # shell completion is the full app's protocol
            cf = parse_fast_cf(argv)
            if cf is not None:
                code = _warm_cf(cf)
                sys.exit(run_fast_cf(cf) if code is None else code)
            if "ls" in argv:  # each fast path's module is loaded only for its own command
                from session_roam.cli.fast_ls import parse_fast_ls, run_fast_ls

                ls = parse_fast_ls(argv)
                if ls is not None:
                    sys.exit(run_fast_ls(ls))
            if "cr" in argv:  # roam watch's cr server, when there is one (cli.crclient)
                from session_roam.cli.crclient import served_cr

                served = served_cr(argv)
                if served is not None:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(served)
            from session_roam.cli.fast_cr import exit_now, parse_fast_cr, run_fast_cr

            cr = parse_fast_cr(argv)
            if cr is not None:
                exit_now(run_fast_cr(cr))
        from session_roam.cli.app import main as full_main

        full_main()
    finally:
        gc.freeze()  # see cli.app.main: nothing left to collect on the way out


if __name__ == "__main__":
    main()
