"""What roam needs (Syncthing, claude), judged and explained the same way wherever it is asked."""

from __future__ import annotations

import json
import stat
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.setup import check_requirements, require_syncthing
from session_roam.engine.setup.requirements import judge_syncthing
from session_roam.engine.syncthing.models import SyncthingVersion
from session_roam.engine.syncthing.version import binary_version
from session_roam.errors import SetupError, SyncthingMissing

if TYPE_CHECKING:
    from pathlib import Path


def _fake_syncthing(folder: Path, version: str) -> Path:
    """A `syncthing` that only answers --version, as the real one does."""
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / "syncthing"
    binary.write_text(
        f'#!/bin/sh\necho "syncthing {version} \\"Fermium Flea\\" (go1.19 linux-amd64)"\n'
    )
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


@pytest.fixture
def only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with nothing on it but what the test puts in ``tmp_path/bin``."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.delenv("ROAM_SYNCTHING_BIN", raising=False)
    monkeypatch.delenv("ROAM_CLAUDE_BIN", raising=False)
    binary_version.cache_clear()
    return folder


def _apt(name: str) -> str | None:
    return "/usr/bin/apt-get" if name == "apt-get" else None


@pytest.mark.parametrize(
    ("version", "status"),
    [
        ("1.19.2", "tested"),
        ("1.29.5", "tested"),
        ("1.27.2", "handled"),
        ("2.1.3", "handled"),
        ("2.4.0", "handled"),
        ("1.11.9", "refused"),
        ("3.0.0", "refused"),
    ],
)
def test_syncthing_versions_are_judged_as_the_readme_matrix_says(version: str, status: str) -> None:
    parsed = SyncthingVersion.parse(f"v{version}")
    assert parsed is not None
    assert judge_syncthing(parsed)[0] == status


def test_a_release_newer_than_roam_knows_says_it_is_untested() -> None:
    assert "not tested" in judge_syncthing(SyncthingVersion(2, 4, 0))[1]


def test_missing_syncthing_is_reported_with_this_platforms_install_command(only: Path) -> None:
    found = check_requirements(which=_apt)
    assert found.syncthing.status == "missing"
    assert found.syncthing.install == "sudo apt-get install syncthing"
    assert not found.ready


def test_without_a_package_manager_syncthing_is_a_download(only: Path) -> None:
    found = check_requirements(which=lambda _name: None)
    assert "syncthing.net" in found.syncthing.install


def test_syncthing_found_on_path_reports_its_path_and_version(only: Path) -> None:
    binary = _fake_syncthing(only, "v1.27.2")
    found = check_requirements(which=_apt).syncthing
    assert (found.status, found.path, found.version) == ("handled", str(binary), "1.27.2")


def test_missing_claude_says_who_needs_it_and_how_to_get_it(only: Path) -> None:
    claude = check_requirements(which=_apt).claude
    assert claude.status == "missing"
    assert "roam cr needs it" in claude.detail
    assert "claude.ai/install.sh" in claude.install


def test_a_machine_not_set_up_is_told_to_try_the_demo_then_set_up(only: Path) -> None:
    _fake_syncthing(only, "v1.19.2")
    found = check_requirements(which=_apt)
    assert [command for command, _why in found.next_steps()] == ["roam demo", "roam setup"]


def test_without_syncthing_the_next_step_is_installing_it(only: Path) -> None:
    steps = check_requirements(which=_apt).next_steps()
    assert [command for command, _why in steps] == ["roam"]


def test_require_syncthing_refuses_a_missing_one_with_the_install_command(only: Path) -> None:
    with pytest.raises(SyncthingMissing) as refused:
        require_syncthing(check_requirements(which=_apt))
    assert "apt-get install syncthing" in refused.value.hint


def test_require_syncthing_refuses_a_release_roam_does_not_support(only: Path) -> None:
    _fake_syncthing(only, "v1.10.0")
    with pytest.raises(SetupError) as refused:
        require_syncthing(check_requirements(which=_apt))
    assert "1.10.0 is not supported" in refused.value.message
    assert refused.value.exit_code == 3


def test_the_json_form_names_every_requirement(only: Path) -> None:
    document = json.loads(json.dumps(check_requirements(which=_apt).to_json()))
    assert document["schema"] == "roam.requirements/1"
    assert [r["name"] for r in document["requirements"]] == ["syncthing", "claude"]
