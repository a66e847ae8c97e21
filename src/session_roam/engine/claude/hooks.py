"""roam's SessionStart/SessionEnd hooks in Claude Code's settings.json, added and removed safely.

A plain ``claude`` (not started through ``roam cr``) then claims the lease and journals its
lines too. The settings file belongs to the user: every other key and every other hook entry is
kept as it was (order included), the file is replaced atomically, the previous bytes are copied
to roam's state folder first, installing twice changes nothing, and uninstalling removes only
entries whose command is roam's own ``... hooks run session-start|session-end``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import atomic_write
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "HOOK_EVENTS",
    "HooksChange",
    "HooksStatus",
    "hook_command",
    "install_hooks",
    "is_roam_hook",
    "load_settings",
    "roam_argv",
    "settings_path",
    "status_hooks",
    "uninstall_hooks",
    "write_settings",
]

#: Claude Code hook event -> the argument of the hidden ``roam hooks run`` subcommand.
HOOK_EVENTS: Final = {"SessionStart": "session-start", "SessionEnd": "session-end"}
#: Seconds Claude Code waits for a hook; claiming the lease may have to hear from peers.
HOOK_TIMEOUT_S: Final = 20
_RUN: Final = ("hooks", "run")


@dataclass(frozen=True, slots=True)
class HooksChange:
    """What install/uninstall did. ``backup`` holds the previous settings when a write happened."""

    settings: Path
    changed: bool
    backup: Path | None
    commands: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HooksStatus:
    """Which of roam's hooks the settings file carries, and whether they run this roam."""

    settings: Path
    installed: dict[str, tuple[str, ...]]  # event -> roam commands found
    expected: dict[str, str]  # event -> the command install would write now

    @property
    def complete(self) -> bool:
        """Both events carry exactly the command this roam would install."""
        return all(self.installed.get(e) == (c,) for e, c in self.expected.items())

    @property
    def any_installed(self) -> bool:
        return any(self.installed.values())


def settings_path(config_dir: Path) -> Path:
    """Claude Code's user settings file in its config folder."""
    return config_dir / "settings.json"


def roam_argv() -> list[str]:
    """How a hook should start this very roam: an absolute path, never a bare name.

    Hooks run with Claude's PATH, which may not contain roam's virtualenv, so the console script
    that is running now is used; when roam runs as ``python -m session_roam`` that is repeated.
    Paths are made absolute but symlinks are kept: a virtualenv's ``bin/python`` is a symlink to
    the base interpreter, which does not see the virtualenv's packages.
    """
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "roam" and argv0.exists():
        return [os.path.abspath(argv0)]
    found = shutil.which("roam")
    if found is not None:
        return [os.path.abspath(found)]
    return [os.path.abspath(sys.executable), "-m", "session_roam"]


def hook_command(event: str, base: Sequence[str] | None = None) -> str:
    """The shell command written into settings.json for one Claude Code event."""
    argv = [*(base if base is not None else roam_argv()), *_RUN, HOOK_EVENTS[event]]
    return shlex.join(argv)


def is_roam_hook(command: str) -> bool:
    """True for a command roam installed (any roam path), false for anything else."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        return False
    if len(tokens) < 4 or tuple(tokens[-3:-1]) != _RUN or tokens[-1] not in HOOK_EVENTS.values():
        return False
    head = tokens[:-3]
    return Path(head[0]).name == "roam" or head[-2:] == ["-m", "session_roam"]


def _load(path: Path) -> tuple[dict[str, Any], bytes | None]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, None
    if not raw.strip():
        return {}, raw
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"{path} is not valid JSON (line {getattr(exc, 'lineno', '?')}), "
            "so roam left it alone.",
            hint="Fix the file (or move it away), then run `roam hooks install` again.",
        ) from None
    if not isinstance(document, dict):
        raise InvalidInput(
            f"{path} does not hold a JSON object, so roam left it alone.",
            hint="Fix the file (or move it away), then run `roam hooks install` again.",
        )
    return document, raw


def _hooks_table(document: dict[str, Any], path: Path) -> dict[str, Any]:
    table = document.get("hooks", {})
    if not isinstance(table, dict):
        raise InvalidInput(
            f'"hooks" in {path} is not a JSON object, so roam left the file alone.',
            hint="Fix the file, then run `roam hooks install` again.",
        )
    return table


def _without_roam(groups: Any) -> list[Any]:
    """The event's matcher groups with roam's entries taken out and emptied groups dropped."""
    if not isinstance(groups, list):
        return [groups]
    kept: list[Any] = []
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
            kept.append(group)
            continue
        entries = [
            entry
            for entry in group["hooks"]
            if not (isinstance(entry, dict) and is_roam_hook(str(entry.get("command", ""))))
        ]
        if entries:
            kept.append({**group, "hooks": entries})
        elif not group["hooks"]:
            kept.append(group)  # an empty group the user wrote: not ours to remove
    return kept


def _backup(raw: bytes | None, backup_dir: Path | None) -> Path | None:
    if raw is None:
        return None
    folder = backup_dir if backup_dir is not None else xdg.state_dir() / "settings-backups"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = folder / f"settings.json.{stamp}"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
    return target


def _write(
    path: Path, document: dict[str, Any], raw: bytes | None, backup_dir: Path | None
) -> Path | None:
    backup = _backup(raw, backup_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return backup


#: Public names for the other editors of settings.json (``engine.cleanup``): one safe path.
load_settings = _load
write_settings = _write


def install_hooks(
    path: Path, *, base: Sequence[str] | None = None, backup_dir: Path | None = None
) -> HooksChange:
    """Add roam's two hooks (replacing older roam entries, e.g. from another install path)."""
    document, raw = _load(path)
    table = _hooks_table(document, path)
    commands = {event: hook_command(event, base) for event in HOOK_EVENTS}
    new_table = dict(table)
    for event, command in commands.items():
        groups = _without_roam(table.get(event, []))
        groups.append(
            {"hooks": [{"type": "command", "command": command, "timeout": HOOK_TIMEOUT_S}]}
        )
        new_table[event] = groups
    new_document = {**document, "hooks": new_table}
    if new_document == document:
        return HooksChange(path, changed=False, backup=None, commands=tuple(commands.values()))
    backup = _write(path, new_document, raw, backup_dir)
    return HooksChange(path, changed=True, backup=backup, commands=tuple(commands.values()))


def uninstall_hooks(path: Path, *, backup_dir: Path | None = None) -> HooksChange:
    """Remove roam's entries and nothing else; events (and ``hooks``) left empty by that go too."""
    document, raw = _load(path)
    if "hooks" not in document:
        return HooksChange(path, changed=False, backup=None, commands=())
    table = _hooks_table(document, path)
    new_table = dict(table)
    for event in HOOK_EVENTS:
        if event not in table:
            continue
        groups = _without_roam(table[event])
        if groups:
            new_table[event] = groups
        elif table[event]:
            del new_table[event]
    new_document = dict(document)
    if new_table or not table:
        new_document["hooks"] = new_table
    else:
        del new_document["hooks"]
    if new_document == document:
        return HooksChange(path, changed=False, backup=None, commands=())
    backup = _write(path, new_document, raw, backup_dir)
    return HooksChange(path, changed=True, backup=backup, commands=())


def status_hooks(path: Path, *, base: Sequence[str] | None = None) -> HooksStatus:
    """Read-only: what ``install`` would write, and which roam entries are there now."""
    document, _raw = _load(path)
    table = _hooks_table(document, path)
    installed: dict[str, tuple[str, ...]] = {}
    for event in HOOK_EVENTS:
        found: list[str] = []
        groups = table.get(event, [])
        for group in groups if isinstance(groups, list) else []:
            entries = group.get("hooks") if isinstance(group, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                command = str(entry.get("command", "")) if isinstance(entry, dict) else ""
                if is_roam_hook(command):
                    found.append(command)
        installed[event] = tuple(found)
    expected = {event: hook_command(event, base) for event in HOOK_EVENTS}
    return HooksStatus(path, installed=installed, expected=expected)
