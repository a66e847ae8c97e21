"""The start-up fast path of ``roam ls --json`` (``cli.fast``): at 50,000 sessions a script's
``roam ls --all --json`` should not pay typer's and pydantic's start-up (about 0.2 s) on top of
the listing.

It takes only ``[--json] [--claude-dir D] ls [--all|-a] [--json] [--sort S] [--limit N|-n N]``
with ``--json`` given and S one of ``ls_query.SORTS``, N a whole number of 1 or more; any other
command line (filters, help, a value the full app would refuse) is left to the full app.
It runs the same body as the full command (``cli.ls_json.ls_json``) under the same error
boundary; tests/cli/test_fast_ls.py holds the two to it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not from typing: this module is on the start-up path
if TYPE_CHECKING:
    from typing import Any, Final

__all__ = ["parse_fast_ls", "run_fast_ls"]

_SORTS: Final = ("time", "size", "project")  # ls_query.SORTS (a test keeps them equal)


def parse_fast_ls(argv: list[str]) -> dict[str, Any] | None:
    """The options of a plain ``ls --json`` command line, or None for anything else."""
    options: dict[str, Any] = {
        "json": False, "all": False, "sort": "time", "limit": None, "claude_dir": None,
    }  # fmt: skip
    seen_ls = False
    items = iter(argv)
    for arg in items:
        name, eq, inline = arg.partition("=")
        if arg == "--json":
            options["json"] = True
        elif arg in ("--all", "-a") and seen_ls:
            options["all"] = True
        elif name in ("--claude-dir", "--sort", "--limit", "-n"):
            if (name == "--claude-dir") == seen_ls or (eq and name == "-n"):
                return None
            value = inline if eq else next(items, None)
            if not value or value.startswith("-"):
                return None
            if name == "--claude-dir":
                options["claude_dir"] = value
            elif name == "--sort":
                if value not in _SORTS:
                    return None
                options["sort"] = value
            elif value.isascii() and value.isdigit() and int(value) >= 1:
                options["limit"] = int(value)
            else:
                return None
        elif arg == "ls" and not seen_ls:
            seen_ls = True
        else:
            return None  # a filter, --help, -v, an argument: the full app decides
    return options if seen_ls and options["json"] else None


def run_fast_ls(options: dict[str, Any]) -> int:
    """``cli.sessions.ls``'s JSON body under ``cli.app``'s root callback and error boundary."""
    from pathlib import Path

    from session_roam.cli.context import Settings
    from session_roam.cli.logs import configure_logging
    from session_roam.cli.ls_json import ls_json
    from session_roam.errors import RoamError

    configure_logging(0)
    override = options["claude_dir"] or os.environ.get("CLAUDE_CONFIG_DIR") or None
    settings = Settings(json=True, claude_dir=Path(override) if override else None)
    try:
        ls_json(settings, all_projects=options["all"], sort=options["sort"], limit=options["limit"])
    except RoamError as error:
        from session_roam.cli.output import print_error

        print_error(error, as_json=True)
        return int(error.exit_code)
    except Exception as bug:  # as the full app: still one document on stdout
        from session_roam.cli.output import emit_json, error_envelope

        message = f"roam hit a bug ({type(bug).__name__}: {bug})."
        hint = "Please report it with the traceback printed on stderr."
        emit_json(error_envelope(type(bug).__name__, 1, message, hint))
        raise
    return 0
