"""A start-up fast path for ``roam cf ... --json``, the command scripts call in a loop.

Importing the full typer app costs about 0.8 s here (rich, httpx, every command module), ten
times the bare interpreter. A search must cost about the interpreter, so this entry point
recognises the plain ``cf --json`` form with only the standard library and the search engine,
and hands every other command line (help, completion, anything it does not fully understand)
to the full app unchanged. Output and exit codes are the same as the full command's.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Final

__all__ = ["main", "parse_fast_cf", "run_fast_cf"]

_FLAGS: Final = frozenset({"--json", "--all", "-a"})
_VALUED: Final = frozenset({"--limit", "-n", "--claude-dir"})


def parse_fast_cf(argv: list[str]) -> dict[str, Any] | None:
    """The options of ``[--json] [--claude-dir D] cf WORDS [--json] [--all] [--limit N]``, or
    None when the command line is anything else (the full app then parses it)."""
    options: dict[str, Any] = {"json": False, "all": False, "limit": 20, "claude_dir": None}
    words: list[str] = []
    seen_cf = False
    items = iter(argv)
    for arg in items:
        name, eq, inline = arg.partition("=")
        if arg in _FLAGS:
            if arg == "--json":
                options["json"] = True
                # Errors become a JSON envelope only under the global --json (as in cli.app).
                options["root_json"] = options.get("root_json", False) or not seen_cf
            elif not seen_cf:
                return None
            else:
                options["all"] = True
        elif name in _VALUED:
            value = inline if eq else next(items, None)
            if value is None or (name == "--claude-dir") == seen_cf:
                return None
            if name == "--claude-dir":
                options["claude_dir"] = value
            elif value.isdigit():
                options["limit"] = int(value)
            else:
                return None
        elif arg.startswith("-"):
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


def _emit(data: object) -> None:
    # Byte for byte what cli.output.emit_json prints.
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def _existing_xdg(variable: str, default: str) -> Path | None:
    """roam's folder under an XDG base when it already exists (engine.xdg's rule, read-only).

    ``engine.xdg`` creates folders and so imports the atomic-write helpers (tempfile, shutil);
    a warm search only needs to find folders that are there, and falls back to it otherwise.
    """
    value = os.environ.get(variable, "")
    base = Path(value) if value and os.path.isabs(value) else Path.home() / default
    folder = base / "session-roam"
    return folder if folder.is_dir() else None


def run_fast_cf(options: dict[str, Any]) -> int:
    from session_roam.engine.pathmap import PathMap, load_pathmap, local_project_dirs
    from session_roam.engine.paths import claude_config_dir, projects_dir
    from session_roam.engine.search import search_sessions
    from session_roam.errors import RoamError

    try:
        override = options["claude_dir"] or os.environ.get("CLAUDE_CONFIG_DIR") or None
        config = claude_config_dir(Path(override) if override else None)
        scope = None
        if not options["all"]:
            config_home = _existing_xdg("XDG_CONFIG_HOME", ".config")
            pathmap = load_pathmap(config_home) if config_home else PathMap()
            folders = local_project_dirs(Path.cwd(), config, pathmap)
            scope = frozenset(folder.name for folder in folders)
        result = search_sessions(
            options["words"],
            projects_root=projects_dir(config),
            cache_dir=_existing_xdg("XDG_CACHE_HOME", ".cache") or _cache_dir(),
            scope=scope,
            limit=options["limit"],
        )
    except RoamError as error:
        if not options.get("root_json"):
            sys.stderr.write(f"error: {error.message}\n")
            if error.hint:
                sys.stderr.write(f"hint: {error.hint}\n")
            return int(error.exit_code)
        _emit(
            {
                "error": {
                    "type": type(error).__name__,
                    "message": error.message,
                    "hint": error.hint,
                    "exit_code": int(error.exit_code),
                }
            }
        )
        return int(error.exit_code)
    _emit([match.as_json() for match in result.matches])
    return 0 if result.matches else 1


def _cache_dir() -> Path:
    from session_roam.engine import xdg

    return xdg.cache_dir()


def main() -> None:
    """Console entry point: the fast path when it applies, else the full ``roam``."""
    options = parse_fast_cf(sys.argv[1:])
    if options is None:
        from session_roam.cli.app import main as full_main

        full_main()
        return
    sys.exit(run_fast_cf(options))


if __name__ == "__main__":
    main()
