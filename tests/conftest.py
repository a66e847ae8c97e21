"""Fixtures shared by every test.

The autouse ``clean_environ`` moves HOME, the XDG folders and CLAUDE_CONFIG_DIR into the test's
tmp_path, so no test can read or write the developer's real ~/.claude or roam state. It also
puts a ``systemctl`` and a ``launchctl`` first on PATH that answer like a machine without a
service manager (a container), so that no test, and no roam a test starts, ever reaches the
developer's own systemd or launchd: `roam setup` installs the `roam watch` service by default.
A test that means to see a service installed puts its own stand-in before these.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

_LEAKY_PREFIXES = ("CLAUDE", "ANTHROPIC", "STGUIAPIKEY", "ROAM_", "XDG_")
#: What ``systemctl --user`` says in a container; exit 1 like it.
_NO_SERVICE_MANAGER = "#!/bin/sh\necho 'Failed to connect to bus: No medium found' >&2\nexit 1\n"


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    # set for the whole run, read-only for tests; ROAM_SYNCTHING_BIN is the switch that picks the
    # Syncthing every node and every roam under test runs (scripts/test sets it per version)
    keep = {"ROAM_CLAUDE_BIN", "ROAM_E2E_RERUNS", "ROAM_SYNCTHING_BIN"}
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES) and name not in keep:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    tools = tmp_path / "no-service-manager"
    tools.mkdir()
    for tool in ("systemctl", "launchctl"):
        (tools / tool).write_text(_NO_SERVICE_MANAGER)
        (tools / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ.get('PATH', '')}")
    return home


def pytest_configure() -> None:
    """A ROAM_SYNCTHING_BIN naming no executable stops the run before any test: falling back to
    PATH would test another Syncthing than the one asked for, and say nothing."""
    explicit = os.environ.get("ROAM_SYNCTHING_BIN")
    if explicit and not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
        raise pytest.UsageError(
            f"ROAM_SYNCTHING_BIN names {explicit}, which is not an executable file; "
            "point it at a syncthing binary or unset it."
        )


def pytest_report_header() -> str:
    """Which Syncthing this run tests, on the first lines of every CI log."""
    from tests.support.syncthing_bin import SYNCTHING

    return f"syncthing: {SYNCTHING or 'none installed'}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A real-cluster test that fails is run once more, and the rerun shows in the summary.

    Real Syncthing nodes on a shared 2-core machine occasionally miss a timing window that has
    nothing to do with roam (a refused dial that backs off for 20 s, a watcher firing late).
    One rerun keeps CI honest about such noise without hiding a real failure, which fails twice;
    every rerun is listed as R in the report so flakes stay visible and get fixed.
    """
    reruns = int(os.environ.get("ROAM_E2E_RERUNS", "1"))  # 0 while hunting a flake
    if reruns <= 0:
        return
    for item in items:
        if item.get_closest_marker("e2e") is not None:
            item.add_marker(pytest.mark.flaky(reruns=reruns, reruns_delay=1))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print why each rerun test failed the first time, so a flake can be fixed from a CI log."""
    reruns = terminalreporter.stats.get("rerun", [])
    if reruns:
        terminalreporter.section("first failures of rerun tests")
    for report in reruns:
        terminalreporter.write_line(f"--- {report.nodeid}")
        terminalreporter.write_line(getattr(report, "longreprtext", "") or "(no traceback)")
