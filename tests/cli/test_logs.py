"""Log lines on stderr read like roam's other messages unless --verbose asks for detail."""

from __future__ import annotations

import subprocess
import sys

SNIPPET = (
    "import logging, sys\n"
    "from session_roam.cli.logs import configure_logging\n"
    "configure_logging(sys.argv[1] == 'v')\n"
    "logging.getLogger('session_roam.engine.lease.api').warning('going ahead without %s', 'beta')\n"
    "logging.getLogger('session_roam.engine.lease.api').debug('detail')\n"
)


def _stderr(mode: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET, mode], capture_output=True, text=True, check=True
    )
    return done.stderr


def test_logs_show_a_warning_as_one_plain_line() -> None:
    assert _stderr("q") == "warning: going ahead without beta\n"


def test_logs_verbose_names_level_and_module_and_shows_debug() -> None:
    assert _stderr("v") == (
        "WARNING session_roam.engine.lease.api: going ahead without beta\n"
        "DEBUG session_roam.engine.lease.api: detail\n"
    )
