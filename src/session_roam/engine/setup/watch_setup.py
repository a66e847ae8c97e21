"""`roam setup`'s last step: run `roam watch` at login, the way a user expects of a sync tool.

The watch merges conflict copies as they arrive, keeps the summary cache current and serves
`roam cr` from a process that has loaded roam already (docs/design/cr-server.md). Setup
installs it through ``install_service``, so a later `roam watch install` or `roam uninstall`
sees exactly the same file.

Where the platform's service manager cannot run it (no systemd user instance in a container,
WSL1 or a CI machine; ``ROAM_NO_SYSTEMD`` / ``ROAM_NO_LAUNCHD`` set) nothing is written and
setup still succeeds, with one warning saying how to run the watch instead. A unit written now
whose start then fails is removed again: what is left is either a working service or nothing.

A re-run respects what the person did to it (``watch_record``): a service removed with
`roam watch uninstall`, or whose file roam wrote was deleted by hand, stays removed; a unit or
agent file edited by hand is left as it is; setup says so, with `roam watch install` (or
`roam setup --watch`) to override either.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from session_roam.engine.setup.watch_record import deleted_by_hand, edited_by_hand, read_record
from session_roam.engine.setup.watch_service import (
    install_service,
    manager_problem,
    restart_service,
    service_file,
    tool_failed,
    uninstall_service,
    watch_status,
)
from session_roam.errors import SetupError

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.setup.watch_service import Platform

__all__ = ["WATCH_PURPOSE", "WatchSetup", "ensure_watch", "unit_claude_dir", "watch_skipped"]

WatchState = Literal[
    "installed", "already installed", "skipped", "unavailable", "removed", "edited"
]

#: What the service is for, in setup's one line about it.
WATCH_PURPOSE: Final = (
    "merges conflict copies as they arrive, keeps the index current, starts `roam cr` faster"
)
#: The ``detail`` of a service whose file roam wrote and someone deleted (``deleted_by_hand``).
DELETED: Final = "its file was deleted, not with `roam watch uninstall`: taken as a removal"
_BY_HAND: Final = {
    "linux": "Run `roam watch` in a terminal, or enable systemd user services and run "
    "`roam watch install`",
    "darwin": "Run `roam watch` in a terminal, or `roam watch install` once launchctl works",
}


@dataclass(frozen=True, slots=True)
class WatchSetup:
    """What setup did about the `roam watch` service (``watch`` in ``roam.setup/1``).

    ``state``: ``installed`` (written or changed, and started; restarted when it ran an older
    file), ``already installed`` (the same
    file, enabled and running: nothing done), ``skipped`` (``--no-watch``), ``unavailable``
    (the service manager cannot run it; nothing written), ``removed`` (the person removed it
    with `roam watch uninstall`, or deleted the file roam wrote; nothing done) or ``edited``
    (its file differs from what roam last wrote; left as it is). ``path`` is the unit or agent file
    when one is in place; ``detail`` is what the platform tool said, or why it was not used."""

    state: WatchState
    path: str | None
    detail: str

    @property
    def warning(self) -> str | None:
        """The one plain warning setup prints when the watch could not be set up, else None."""
        if self.state != "unavailable":
            return None
        by_hand = _BY_HAND["darwin" if sys.platform == "darwin" else "linux"]
        return f"roam watch is not running: {self.detail}. {by_hand}."

    def describe(self) -> str:
        """Setup's line about the service (its warning, if any, is printed apart)."""
        said = {
            "installed": f"installed, runs at login ({self.path})",
            "already installed": f"already installed, runs at login ({self.path})",
            "skipped": "not installed (--no-watch); add it later with `roam watch install`",
            "unavailable": "not installed: this machine's service manager cannot run it",
            "removed": "not installed: "
            + ("its file was deleted, not by roam" if self.detail == DELETED else "you removed it")
            + "; `roam watch install` brings it back",
            "edited": f"left as you edited it ({self.path}); `roam watch install` writes "
            "roam's version again",
        }[self.state]
        return f"roam watch ({WATCH_PURPOSE}): {said}"


def watch_skipped() -> WatchSetup:
    return WatchSetup("skipped", None, "not asked to (--no-watch)")


def unit_claude_dir(claude_dir: Path, home: Path) -> Path | None:
    """The Claude dir a unit must name: None for the default ``~/.claude``, which a service
    finds by itself; any other (``--claude-dir``, ``CLAUDE_CONFIG_DIR``) it would not."""
    absolute = claude_dir.absolute()  # a service starts in the home folder, not here
    return None if absolute == (home / ".claude").absolute() else absolute


def ensure_watch(
    home: Path, claude_dir: Path, *, platform: Platform | None = None, force: bool = False
) -> WatchSetup:
    """Install and start the `roam watch` service, idempotently; see the module docstring.

    ``force`` (`roam setup --watch`): also when the person removed it or edited its file.
    Never raises for the service's sake: setup's real work is done by now, so a folder it
    cannot write or a path the unit cannot hold becomes the ``unavailable`` warning."""
    if not force:
        record, unit = read_record(), service_file(platform, home)
        if record.removed and not unit.exists():  # one back in place (dotfiles) is judged below
            return WatchSetup("removed", None, "removed with `roam watch uninstall`")
        if deleted_by_hand(unit, record):
            return WatchSetup("removed", None, DELETED)
        if edited_by_hand(unit, record):
            return WatchSetup("edited", str(unit), "changed since roam wrote it")
    problem = manager_problem(platform)
    if problem is not None:
        return WatchSetup("unavailable", None, problem)
    try:
        return _install(home, unit_claude_dir(claude_dir, home), platform)
    except (OSError, SetupError) as exc:
        return WatchSetup("unavailable", None, str(exc).rstrip("."))


def _install(home: Path, named: Path | None, platform: Platform | None) -> WatchSetup:
    before = watch_status(home, platform=platform)
    existed = before.installed
    dry = install_service(home, activate=False, platform=platform, claude_dir=named)
    if existed and not dry.changed and before.enabled and before.running:
        return WatchSetup("already installed", str(dry.path), "enabled and running")
    if dry.changed and before.running:  # a new file (another Python, another Claude dir)
        # enable --now (or launchctl load) leaves a running service as it was: restart it
        restarted = restart_service(home, platform=platform)
        if tool_failed(restarted):
            return WatchSetup("unavailable", str(dry.path), restarted)
        return WatchSetup("installed", str(dry.path), restarted)
    change = install_service(home, platform=platform, claude_dir=named)
    if change.activation_failed:
        if not existed:  # never leave a unit behind that nothing started, nor its links
            uninstall_service(home, platform=platform)
        return WatchSetup("unavailable", str(change.path) if existed else None, change.activated)
    return WatchSetup("installed", str(change.path), change.activated)
