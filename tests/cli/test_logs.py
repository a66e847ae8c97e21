"""Log lines on stderr read like roam's other messages unless --verbose asks for detail."""

from __future__ import annotations

import subprocess
import sys

import pytest

SNIPPET = (
    "import logging, sys\n"
    "from session_roam.cli.logs import configure_logging\n"
    "configure_logging(sys.argv[1] == 'v')\n"
    "logging.getLogger('session_roam.engine.lease.api').warning('going ahead without %s', 'beta')\n"
    "logging.getLogger('session_roam.engine.lease.api').debug('detail')\n"
)


#: A file name from a peer: clear screen, OSC 52 (the clipboard), a C1 CSI, a bidi override.
HOSTILE = "a\x1b[2J\x1b]52;c;aGk=\x07\x9b31m\u202eb"
NAMING = (
    "import logging, sys\n"
    "from session_roam.cli.logs import configure_logging\n"
    "configure_logging(sys.argv[1] == 'v')\n"
    "logging.getLogger('x').warning('file %s', sys.argv[2])\n"
)


def _stderr(mode: str, snippet: str = SNIPPET, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", snippet, mode, *args], capture_output=True, text=True, check=True
    )
    return done.stderr


def test_logs_show_a_warning_as_one_plain_line() -> None:
    assert _stderr("q") == "warning: going ahead without beta\n"


def test_logs_verbose_names_level_and_module_and_shows_debug() -> None:
    assert _stderr("v") == (
        "WARNING session_roam.engine.lease.api: going ahead without beta\n"
        "DEBUG session_roam.engine.lease.api: detail\n"
    )


@pytest.mark.parametrize("mode", ["q", "v"])
def test_logs_show_a_synced_file_names_controls_as_visible_text(mode: str) -> None:
    line = _stderr(mode, NAMING, HOSTILE)
    assert line.endswith("file a\\x1b[2J\\x1b]52;c;aGk=\\x07\\x9b31m\\u202eb\n")
    assert not any(ch in line for ch in "\x1b\x07\x9b\u202e")


LIBRARIES = (
    "import logging, sys\n"
    "from session_roam.cli.logs import configure_logging\n"
    "configure_logging(len(sys.argv[1]))\n"
    "logging.getLogger('httpcore.connection').debug('connect_tcp.started')\n"
    "logging.getLogger('httpx').warning('a library warning')\n"
    "logging.getLogger('session_roam.engine.demo.story').debug('roam detail')\n"
)


def test_logs_verbose_keeps_library_debug_lines_out() -> None:
    assert _stderr("v", LIBRARIES) == (
        "WARNING httpx: a library warning\nDEBUG session_roam.engine.demo.story: roam detail\n"
    )


def test_logs_twice_verbose_shows_library_debug_lines_too() -> None:
    assert "DEBUG httpcore.connection: connect_tcp.started" in _stderr("vv", LIBRARIES)
