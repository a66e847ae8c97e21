"""Path maps and project folders on case-insensitive file systems (macOS's default): matching
ignores case when the file system does, probed per folder, and never when it does not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from session_roam.engine.core.paths import project_slug
from session_roam.engine.sessions.pathmap import (
    PathMap,
    PathMapping,
    case_insensitive_fs,
    local_project_dirs,
)

MAP = PathMap((PathMapping("/Users/Nat", "/home/nat"),))


def test_to_local_ignores_case_only_when_asked() -> None:
    assert MAP.to_local("/users/nat/proj", case_insensitive=True) == "/home/nat/proj"
    assert MAP.to_local("/users/nat/proj") == "/users/nat/proj"


def test_is_mapped_ignores_case_only_when_asked() -> None:
    assert MAP.is_mapped("/USERS/NAT", case_insensitive=True)
    assert not MAP.is_mapped("/USERS/NAT")


def test_local_project_dirs_match_a_target_typed_in_another_case(tmp_path: Path) -> None:
    cwd = tmp_path / "Home" / "Nat" / "proj"
    cwd.mkdir(parents=True)
    mapping = PathMap((PathMapping("/Users/nat", str(tmp_path / "home" / "nat")),))
    found = local_project_dirs(cwd, tmp_path / "claude", mapping, case_insensitive=True)
    assert found[-1].name == project_slug("/Users/nat/proj")
    assert len(local_project_dirs(cwd, tmp_path / "claude", mapping, case_insensitive=False)) == 1


def test_a_project_folder_differing_only_in_case_is_found_when_case_is_ignored(
    tmp_path: Path,
) -> None:
    cwd = tmp_path / "Proj"
    cwd.mkdir()
    root = tmp_path / "claude" / "projects"
    other_case = root / project_slug(str(cwd)).lower()
    other_case.mkdir(parents=True)
    found = local_project_dirs(cwd, tmp_path / "claude", PathMap(), case_insensitive=True)
    assert other_case in found
    assert other_case not in local_project_dirs(
        cwd, tmp_path / "claude", PathMap(), case_insensitive=False
    )


def test_the_probe_says_case_sensitive_where_a_swapped_name_does_not_exist(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "Projects"
    folder.mkdir()
    if (tmp_path / "pROJECTS").exists():  # pragma: no cover - a case-insensitive tmp
        pytest.skip("this tmp folder ignores case")
    assert not case_insensitive_fs(folder)


def test_the_probe_sees_a_folder_reachable_under_its_swapped_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "Projects"
    folder.mkdir()
    (tmp_path / "pROJECTS").symlink_to(folder)  # what a case-insensitive file system shows
    assert case_insensitive_fs(folder)


def test_without_anything_to_probe_macos_defaults_to_case_insensitive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert case_insensitive_fs(Path("/nonexistent-0/1/2"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert not case_insensitive_fs(Path("/nonexistent-0/1/2"))
