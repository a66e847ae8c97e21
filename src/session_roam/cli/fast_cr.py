"""The fast path's ``roam cr`` (``cli.fast``): its command line read with the standard library,
then the same body as ``cli.resume.cr`` under the app's root callback and error boundary.

Imported by ``cli.fast.main`` only once a command line is not the warm search, so that one
pays for none of this.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

from session_roam.cli.context import SYNC_TIMEOUT_S

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.cli.resume import TerminalUI
    from session_roam.engine.resume import ChildExit

__all__ = ["FastCr", "exit_now", "parse_fast_cr", "run_fast_cr"]


@dataclass(frozen=True, slots=True)
class FastCr:
    """``[--json] [-v] [--claude-dir D] cr [SESSION] [-f] [--offline] [--wait] [--timeout S]
    [--no-lease] [--syncthing-home H] [CLAUDE OPTIONS] [-- CLAUDE ARGS]``."""

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
    wait: bool = False


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
        elif seen_cr and arg == "--wait" and not eq:
            fields["wait"] = True
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
    "--wait": False,
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


def run_fast_cr(options: FastCr, launcher: Callable[..., ChildExit] | None = None) -> int:
    """What ``cli.resume.cr`` under ``cli.app``'s root callback and error boundary does;
    ``launcher`` starts claude when this process should not (``cli.crserver``'s child)."""
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
        wait=options.wait,
        launcher=launcher,
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


def exit_now(code: int) -> NoReturn:
    """``sys.exit(code)`` without the interpreter's teardown, which only frees, one by one, the
    objects of every module imported (10-35 ms of each ``roam cr``, issue 16): the exit
    handlers run, logging and the standard streams are flushed, then the process ends."""
    import atexit
    import logging

    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to say anyway
            stream.flush()
    os._exit(code)


def _syncthing_home(option: str | None) -> Path | None:
    value = option or os.environ.get("ROAM_SYNCTHING_HOME") or None
    return Path(value) if value else None
