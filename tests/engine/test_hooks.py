from __future__ import annotations

import json
import stat
import sys
from typing import TYPE_CHECKING, Any

import pytest

from session_roam.engine.claude.hooks import (
    hook_command,
    install_hooks,
    is_roam_hook,
    roam_argv,
    status_hooks,
    uninstall_hooks,
)
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

ROAM = ["/opt/roam env/bin/roam"]
OTHER_START = {"matcher": "startup", "hooks": [{"type": "command", "command": "echo hi"}]}
OTHER_END = {"hooks": [{"type": "command", "command": "notify-send bye"}]}


def _settings(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))
    return path


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    return _settings(
        tmp_path,
        {
            "model": "opus",
            "hooks": {
                "SessionStart": [OTHER_START],
                "SessionEnd": [OTHER_END],
                "Stop": [{"hooks": [{"type": "command", "command": "true"}]}],
            },
            "permissions": {"allow": ["Bash(ls)"]},
        },
    )


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    return tmp_path / "backups"


def test_hook_command_quotes_the_roam_path() -> None:
    assert hook_command("SessionStart", ROAM) == "'/opt/roam env/bin/roam' hooks run session-start"


def test_is_roam_hook_recognises_only_roam_commands() -> None:
    assert is_roam_hook("/x/bin/roam hooks run session-end")
    assert is_roam_hook("/usr/bin/python3 -m session_roam hooks run session-start")
    assert not is_roam_hook("/x/bin/other hooks run session-end")
    assert not is_roam_hook("echo roam hooks run session-start; rm -rf x")


def test_install_keeps_every_other_key_and_hook(existing: Path, backups: Path) -> None:
    install_hooks(existing, base=ROAM, backup_dir=backups)
    after = _read(existing)
    assert after["model"] == "opus"
    assert after["permissions"] == {"allow": ["Bash(ls)"]}
    assert after["hooks"]["SessionStart"][0] == OTHER_START
    assert after["hooks"]["SessionEnd"][0] == OTHER_END
    assert after["hooks"]["Stop"] == [{"hooks": [{"type": "command", "command": "true"}]}]
    added = after["hooks"]["SessionStart"][1]["hooks"][0]
    assert added["command"] == hook_command("SessionStart", ROAM)


def test_install_is_idempotent(existing: Path, backups: Path) -> None:
    install_hooks(existing, base=ROAM, backup_dir=backups)
    before = existing.read_bytes()
    change = install_hooks(existing, base=ROAM, backup_dir=backups)
    assert not change.changed
    assert existing.read_bytes() == before


def test_install_replaces_an_entry_from_an_older_roam_path(existing: Path, backups: Path) -> None:
    install_hooks(existing, base=["/old/bin/roam"], backup_dir=backups)
    install_hooks(existing, base=ROAM, backup_dir=backups)
    status = status_hooks(existing, base=ROAM)
    assert status.complete
    assert status.installed["SessionStart"] == (hook_command("SessionStart", ROAM),)


def test_install_keeps_a_private_backup_of_the_previous_settings(
    existing: Path, backups: Path
) -> None:
    before = existing.read_bytes()
    change = install_hooks(existing, base=ROAM, backup_dir=backups)
    assert change.backup is not None
    assert change.backup.read_bytes() == before
    assert stat.S_IMODE(change.backup.stat().st_mode) == 0o600


def test_install_creates_a_missing_settings_file(tmp_path: Path, backups: Path) -> None:
    path = tmp_path / "fresh" / "settings.json"
    change = install_hooks(path, base=ROAM, backup_dir=backups)
    assert change.changed
    assert change.backup is None
    assert status_hooks(path, base=ROAM).complete


def test_install_refuses_a_settings_file_that_is_not_json(tmp_path: Path, backups: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{ not json")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        install_hooks(path, base=ROAM, backup_dir=backups)
    assert path.read_text() == "{ not json"


def test_uninstall_restores_the_settings_exactly(existing: Path, backups: Path) -> None:
    before = _read(existing)
    install_hooks(existing, base=ROAM, backup_dir=backups)
    uninstall_hooks(existing, backup_dir=backups)
    assert _read(existing) == before


def test_uninstall_removes_only_roam_entries_from_a_shared_group(
    tmp_path: Path, backups: Path
) -> None:
    shared = {
        "hooks": [
            {"type": "command", "command": "echo mine"},
            {"type": "command", "command": "/a/bin/roam hooks run session-start"},
        ]
    }
    path = _settings(tmp_path, {"hooks": {"SessionStart": [shared]}})
    uninstall_hooks(path, backup_dir=backups)
    groups = _read(path)["hooks"]["SessionStart"]
    assert groups == [{"hooks": [{"type": "command", "command": "echo mine"}]}]


def test_uninstall_drops_the_hooks_key_it_emptied(tmp_path: Path, backups: Path) -> None:
    path = _settings(tmp_path, {"theme": "dark"})
    install_hooks(path, base=ROAM, backup_dir=backups)
    uninstall_hooks(path, backup_dir=backups)
    assert _read(path) == {"theme": "dark"}


def test_uninstall_without_roam_hooks_changes_nothing(existing: Path, backups: Path) -> None:
    before = existing.read_bytes()
    change = uninstall_hooks(existing, backup_dir=backups)
    assert not change.changed
    assert existing.read_bytes() == before


def test_status_reports_nothing_installed(existing: Path) -> None:
    status = status_hooks(existing, base=ROAM)
    assert not status.any_installed
    assert not status.complete


def test_roam_argv_keeps_the_virtualenv_python_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "venv" / "bin" / "python"
    link.parent.mkdir(parents=True)
    link.symlink_to(sys.executable)
    monkeypatch.setattr(sys, "argv", ["-m"])
    monkeypatch.setattr(sys, "executable", str(link))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert roam_argv() == [str(link), "-m", "session_roam"]
