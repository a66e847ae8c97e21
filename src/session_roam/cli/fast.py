"""Start-up fast paths for the two command lines whose start-up time people feel.

``roam cf ... --json`` is what scripts call in a loop, and ``roam cr`` stands between a person
and claude. Through typer, each pays for typer itself and for pydantic, which typer 0.29 builds
a validator with for every parameter it parses (0.2-0.3 s here, more than the work). So this
entry point recognises the plain forms of those two commands with the standard library and the
engine only, and hands every other command line (help, completion, anything it does not fully
understand) to the full app unchanged. Output and exit codes are the same as the full
command's; tests/cli/test_fast_cr.py holds ``cr`` to that.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam.cli.context import SYNC_TIMEOUT_S

if TYPE_CHECKING:
    from session_roam.cli.resume import TerminalUI

__all__ = ["FastCr", "main", "parse_fast_cf", "parse_fast_cr", "run_fast_cf", "run_fast_cr"]

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


@dataclass(frozen=True, slots=True)
class FastCr:
    """``[--json] [-v] [--claude-dir D] cr [SESSION] [-f] [--offline] [--timeout S] [--no-lease]
    [--syncthing-home H] [CLAUDE OPTIONS] [-- CLAUDE ARGS]``."""

    json: bool = False
    verbose: int = 0  # how many -v, as the typer app counts them
    claude_dir: str | None = None
    query: str | None = None
    force: bool = False
    timeout_s: float = SYNC_TIMEOUT_S
    claude_args: tuple[str, ...] = ()
    no_lease: bool = False
    syncthing_home: str | None = None
    offline: bool = False


_SECONDS: Final = re.compile(r"\d+(\.\d*)?|\.\d+")


def parse_fast_cr(argv: list[str]) -> FastCr | None:
    """The options of a plain ``roam cr`` command line, or None for anything else.

    Only forms whose meaning is certain are taken; any doubt (help, an unknown or combined
    flag, a second SESSION, a value that looks like an option) goes to the full app, which
    parses it, explains it or refuses it exactly as before.
    """
    fields: dict[str, Any] = {}
    split = _claude_split(argv)
    if split is None:
        return None
    argv, fields["claude_args"] = split
    items = iter(argv)
    seen_cr = False
    for arg in items:
        name, eq, inline = arg.partition("=")
        if not seen_cr and arg == "--json" and not eq:
            fields["json"] = True
        elif not seen_cr and arg in ("--verbose", "-v") and not eq:
            fields["verbose"] = fields.get("verbose", 0) + 1
        elif seen_cr and arg in ("--force", "-f") and not eq:
            fields["force"] = True
        elif seen_cr and arg == "--no-lease":
            fields["no_lease"] = True
        elif seen_cr and name == "--syncthing-home":
            value = inline if eq else next(items, None)
            if not value or value.startswith("-"):
                return None
            fields["syncthing_home"] = value
        elif seen_cr and arg == "--offline" and not eq:
            fields["offline"] = True
        elif name == ("--timeout" if seen_cr else "--claude-dir"):
            value = inline if eq else next(items, None)
            if value is None or value == "" or value.startswith("-"):
                return None
            if seen_cr and _SECONDS.fullmatch(value) is None:
                return None
            fields["timeout_s" if seen_cr else "claude_dir"] = float(value) if seen_cr else value
        elif arg.startswith("-") or not arg:
            return None
        elif not seen_cr:
            if arg != "cr":
                return None
            seen_cr = True
        elif "query" in fields:
            return None  # a second SESSION: click's error message, not ours
        else:
            fields["query"] = arg
    return FastCr(**fields) if seen_cr else None


#: ``cr``'s own options and whether each takes a value (cli.resume.cr; the parity test
#: tests/cli/test_fast_parity.py holds the two to the same).
_CR_OPTIONS: Final = {
    **{"--force": False, "-f": False, "--offline": False, "--no-lease": False, "--help": False},
    **{"--timeout": True, "--syncthing-home": True},
}


def _claude_split(argv: list[str]) -> tuple[list[str], tuple[str, ...]] | None:
    """``argv`` without claude's options (cli.claude_args) after ``cr``, and those options;
    None when that split refuses the line (the full app then says why)."""
    from session_roam.cli.claude_args import ClaudeArgsError, split_claude_args

    index = 0
    while index < len(argv) and argv[index] != "cr":
        index += 2 if argv[index] == "--claude-dir" else 1
    if index >= len(argv):
        return list(argv), ()
    try:
        split = split_claude_args(argv[index + 1 :], _CR_OPTIONS, "cr", "SESSION")
    except ClaudeArgsError:
        return None
    return [*argv[: index + 1], *split.roam], split.claude


class _LazyTerminalUI:
    """``cli.resume.TerminalUI``, imported (with typer and rich) only once there is something
    to show: an uneventful ``roam cr`` prints nothing before claude starts."""

    def __init__(self) -> None:
        self._ui: TerminalUI | None = None

    def _real(self) -> TerminalUI:
        if self._ui is None:
            from session_roam.cli.resume import TerminalUI

            self._ui = TerminalUI()
        return self._ui

    def warn(self, message: str) -> None:
        self._real().warn(message)

    def info(self, message: str) -> None:
        self._real().info(message)

    def confirm(self, question: str, *, default: bool = False) -> bool:
        return self._real().confirm(question, default=default)

    @property
    def interactive(self) -> bool:
        return self._real().interactive

    def waiting(self, message: str) -> None:
        self._real().waiting(message)

    def close(self) -> None:
        if self._ui is not None:
            self._ui.close()


def run_fast_cr(options: FastCr) -> int:
    """What ``cli.resume.cr`` under ``cli.app``'s root callback and error boundary does."""
    from session_roam.cli.logs import configure_logging

    configure_logging(options.verbose)
    # The imports make ~100k objects that live until roam exits; the collector would only
    # walk them again and again (about a tenth of the import time). Freeze them instead.
    gc.disable()
    try:
        from session_roam.cli.launched import exit_code_after_claude
        from session_roam.engine.resume import CrOptions, Terminated, run_cr
        from session_roam.errors import RoamError
    finally:
        gc.freeze()
        gc.enable()
    override = options.claude_dir or os.environ.get("CLAUDE_CONFIG_DIR") or None
    request = CrOptions(
        cwd=Path.cwd(),
        claude_dir=Path(override) if override else None,
        query=options.query,
        force=options.force,
        claude_args=options.claude_args,
        sync_timeout_s=options.timeout_s,
        # typer's envvar for the full command's option, so both paths name the same source
        syncthing_home=_syncthing_home(options.syncthing_home),
        no_lease=options.no_lease,
        offline=options.offline,
    )
    ui = _LazyTerminalUI()
    try:
        try:
            outcome = run_cr(request, ui)
            return exit_code_after_claude(outcome.exit_code, outcome.signals)
        finally:
            ui.close()
    except Terminated as stop:
        return 128 + stop.signum
    except KeyboardInterrupt:
        return 130
    except RoamError as error:
        from session_roam.cli.output import print_error

        print_error(error, as_json=options.json)
        return int(error.exit_code)


def _syncthing_home(option: str | None) -> Path | None:
    value = option or os.environ.get("ROAM_SYNCTHING_HOME") or None
    return Path(value) if value else None


def main() -> None:
    """Console entry point: a fast path when one applies, else the full ``roam``."""
    try:
        argv = sys.argv[1:]
        if "_ROAM_COMPLETE" not in os.environ:  # shell completion is the full app's protocol
            cf = parse_fast_cf(argv)
            if cf is not None:
                sys.exit(run_fast_cf(cf))
            cr = parse_fast_cr(argv)
            if cr is not None:
                sys.exit(run_fast_cr(cr))
        from session_roam.cli.app import main as full_main

        full_main()
    finally:
        gc.freeze()  # see cli.app.main: nothing left to collect on the way out


if __name__ == "__main__":
    main()
