"""``roam uninstall``: undo what roam set up on this machine, and nothing else.

In order: the ``roam watch`` service, roam's Claude Code hooks, the shell shortcuts, roam's
folder share in Syncthing (only when the caller confirmed it: the folder leaves Syncthing's
config, no file is deleted), the Syncthing roam itself started or enabled (recorded by
``hostfacts.record_supervision``, or a background node with roam's PID file; a Syncthing the
user ran before roam is never stopped), then roam's own config folder. Sessions, the archive
and the backups stay where they are, and the result says where. Every step is idempotent and
``dry_run`` changes nothing; a step that fails is reported and the others still run.
"""

from __future__ import annotations

import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.claude.hooks import settings_path, status_hooks, uninstall_hooks
from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import atomic_write
from session_roam.engine.core.paths import claude_config_dir, projects_dir
from session_roam.engine.setup.shell import BEGIN_MARKER, SHELLS, rc_file
from session_roam.engine.setup.shell import uninstall as uninstall_shell
from session_roam.engine.setup.shell_aliases import DISABLED_MARKER, known_rc_files
from session_roam.engine.setup.watch_service import (
    Platform,
    service_file,
    uninstall_service,
    watch_status,
)
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import (
    CONFIG_NAME,
    config_folders,
    locate_syncthing_home,
    read_config,
)
from session_roam.engine.syncthing.hostfacts import (
    forget_supervision,
    recorded_supervision,
    run_tool,
)
from session_roam.engine.syncthing.instance import Answer, probe_instance
from session_roam.engine.syncthing.local import find_roam_folder, same_path
from session_roam.engine.syncthing.node import PID_FILE, stop_pid
from session_roam.engine.syncthing.supervision import SYSTEMD_UNIT, launchd_agent_path
from session_roam.errors import RoamError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["Step", "UninstallRequest", "UninstallResult", "roam_folder_shared", "run_uninstall"]

DONE: Final = "removed"
NOTHING: Final = "nothing to do"
WOULD: Final = "would remove"
KEPT: Final = "kept"
FAILED: Final = "failed"


@dataclass(frozen=True, slots=True)
class Step:
    """One part of what roam set up: ``action`` is removed / would remove / nothing to do /
    kept / failed, ``detail`` one sentence about it."""

    part: str
    action: str
    detail: str


@dataclass(frozen=True, slots=True)
class UninstallRequest:
    user_home: Path
    claude_dir: Path | None = None
    syncthing_home: Path | None = None
    dry_run: bool = False
    stop_sharing: bool = False  # the caller asked (a TTY question, or --yes)


@dataclass(frozen=True, slots=True)
class UninstallResult:
    dry_run: bool
    steps: tuple[Step, ...]
    kept: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return any(step.action == FAILED for step in self.steps)


def run_uninstall(request: UninstallRequest) -> UninstallResult:
    """Every step, in order; see the module docstring."""
    claude = claude_config_dir(request.claude_dir)
    projects = projects_dir(claude)
    steps: list[Step] = []
    todo: list[tuple[str, Callable[[], Step]]] = [
        ("watch service", lambda: _watch(request)),
        ("hooks", lambda: _hooks(claude, request.dry_run)),
        *((f"shell ({shell})", _shell_step(shell, request)) for shell in SHELLS),
        ("folder share", lambda: _share(projects, request)),
        ("syncthing", lambda: _syncthing(request)),
        ("config", lambda: _config(request.dry_run)),
    ]
    for part, step in todo:
        try:
            steps.append(step())
        except (RoamError, OSError) as exc:
            text = exc.message if isinstance(exc, RoamError) else str(exc)
            steps.append(Step(part, FAILED, text))
    state = xdg.state_dir_path()
    kept = (
        f"sessions in {projects}",
        f"the archive in {state / 'archive'}",
        f"backups in {state}",
    )
    return UninstallResult(request.dry_run, tuple(steps), kept)


def _watch(request: UninstallRequest) -> Step:
    path = service_file("launchd" if sys.platform == "darwin" else "systemd", request.user_home)
    if not path.exists():
        if not request.dry_run:  # deleted by hand: a fresh start all the same (setup installs it)
            uninstall_service(request.user_home, activate=False)
        return Step("watch service", NOTHING, f"no roam watch service ({path})")
    if request.dry_run:
        return Step("watch service", WOULD, f"would stop and remove {path}")
    platform: Platform = "launchd" if sys.platform == "darwin" else "systemd"
    now = watch_status(request.user_home, platform=platform)
    # a unit never enabled nor started (watch install --no-start) has nothing to stop
    change = uninstall_service(request.user_home, activate=now.enabled or now.running)
    if change.activation_failed:
        return Step("watch service", FAILED, f"removed {path}, but {change.activated}")
    stopped = "stopped and " if change.activated else ""
    return Step("watch service", DONE, f"{stopped}removed {path}")


def _hooks(claude: Path, dry_run: bool) -> Step:
    path = settings_path(claude)
    if not status_hooks(path).any_installed:
        return Step("hooks", NOTHING, f"no roam hooks in {path}")
    if dry_run:
        return Step("hooks", WOULD, f"would remove roam's hooks from {path}")
    change = uninstall_hooks(path)
    backup = f" (previous file kept as {change.backup})" if change.backup else ""
    return Step("hooks", DONE, f"removed roam's hooks from {path}{backup}")


def _shell_step(shell: str, request: UninstallRequest) -> Callable[[], Step]:
    def step() -> Step:
        part = f"shell ({shell})"
        path = rc_file(shell, request.user_home)  # type: ignore[arg-type]
        if request.dry_run:
            found = _with_roam_lines(shell, request.user_home)
            if not found:
                return Step(part, NOTHING, f"no roam shortcuts in {path}")
            where = ", ".join(str(p) for p in found)
            return Step(part, WOULD, f"would remove roam's shortcuts from {where}")
        # the shell's own uninstall also clears a block an older roam left elsewhere and turns
        # back on the old aliases roam commented out, so it runs even without a block here
        change = uninstall_shell(shell, request.user_home)  # type: ignore[arg-type]
        if not change.changed:
            return Step(part, NOTHING, f"no roam shortcuts in {path}")
        return Step(part, DONE, f"removed roam's shortcuts from {path}")

    return step


def _with_roam_lines(shell: str, home: Path) -> list[Path]:
    """The files of ``shell`` that its uninstall changes: roam's block, or an old definition
    roam turned off (what the dry run reports, the same files the real run reads)."""
    files = dict.fromkeys([rc_file(shell, home), *known_rc_files(home, (shell,))])  # type: ignore[arg-type]
    found = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            continue
        if BEGIN_MARKER in text or DISABLED_MARKER in text:
            found.append(path)
    return found


def roam_folder_shared(claude_dir: Path | None, syncthing_home: Path | None) -> str | None:
    """The Syncthing folder id sharing this machine's projects folder, read from config.xml
    (works while Syncthing is down); None when nothing shares it. For the CLI's question."""
    found = locate_syncthing_home(syncthing_home)
    if found is None:
        return None
    projects = projects_dir(claude_config_dir(claude_dir))
    ids = [fid for fid, path in config_folders(found.path) if same_path(path, projects)]
    return ids[0] if ids else None


def _share(projects: Path, request: UninstallRequest) -> Step:
    folder_id = roam_folder_shared(request.claude_dir, request.syncthing_home)
    if folder_id is None:
        return Step("folder share", NOTHING, f"Syncthing does not share {projects}")
    if not request.stop_sharing:
        return Step("folder share", KEPT, f"Syncthing still shares {projects} (folder {folder_id})")
    if request.dry_run:
        return Step(
            "folder share",
            WOULD,
            f"would stop sharing {projects} (folder {folder_id}); no file is deleted",
        )
    found = locate_syncthing_home(request.syncthing_home)
    if found is None:  # pragma: no cover - roam_folder_shared just found it
        return Step("folder share", NOTHING, "no Syncthing config on this machine")
    config = read_config(found.path)
    if probe_instance(config) is Answer.OURS:
        with SyncthingClient(config.base_url, config.api_key) as client:
            folder = find_roam_folder(client, projects, folder_id)
            if folder is not None:
                client.remove_folder(folder.id)
    else:  # not running: edit its config.xml, which it reads when it next starts
        _remove_from_config(found.path, folder_id)
    return Step(
        "folder share", DONE, f"Syncthing no longer shares {projects} (no file was deleted)"
    )


def _remove_from_config(home: Path, folder_id: str) -> None:
    path = home / CONFIG_NAME
    tree = ET.parse(path)  # noqa: S314 - this user's own config
    root = tree.getroot()
    for folder in root.findall("folder"):
        if folder.get("id") == folder_id:
            root.remove(folder)
    atomic_write(path, ET.tostring(root, encoding="unicode").encode("utf-8"))


def _syncthing(request: UninstallRequest) -> Step:
    found = locate_syncthing_home(request.syncthing_home)
    if found is None:
        return Step("syncthing", NOTHING, "no Syncthing config on this machine")
    home = found.path
    kind = recorded_supervision(home)
    background = (home / PID_FILE).is_file()
    if not kind and not background:
        return Step(
            "syncthing",
            KEPT,
            f"the Syncthing in {home} was not started by roam; it keeps running as before",
        )
    what = kind or "started by roam"
    if request.dry_run:
        return Step("syncthing", WOULD, f"would stop the Syncthing roam set up ({what})")
    if kind == "systemd user unit":
        if run_tool(["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT]) is None:
            return Step(
                "syncthing", FAILED, f"systemctl --user disable --now {SYSTEMD_UNIT} failed"
            )
    elif kind == "launchd agent":
        agent = launchd_agent_path(request.user_home)
        if agent.exists() and run_tool(["launchctl", "unload", "-w", str(agent)]) is None:
            return Step("syncthing", FAILED, f"launchctl unload -w {agent} failed")
        agent.unlink(missing_ok=True)
    if background:
        stop_pid(home)
    forget_supervision()
    return Step(
        "syncthing", DONE, f"stopped the Syncthing roam set up ({what}); its config stays in {home}"
    )


def _config(dry_run: bool) -> Step:
    folder = xdg.config_dir_path()
    if not folder.exists():
        return Step("config", NOTHING, f"no roam config in {folder}")
    if dry_run:
        return Step("config", WOULD, f"would remove roam's config {folder}")
    if folder.is_symlink():
        folder.unlink()
    else:
        shutil.rmtree(folder)  # never follows a link inside it
    return Step("config", DONE, f"removed roam's config {folder}")
