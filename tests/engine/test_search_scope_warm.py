"""``warm_scope``: this directory's project folder with ``os`` alone, as ``local_project_dirs``
names it, or None where only the full rules can tell."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from session_roam.engine.core import paths
from session_roam.engine.core.paths import projects_dir
from session_roam.engine.sessions import pathmap
from session_roam.engine.sessions.pathmap import PathMap, local_project_dirs
from session_roam.engine.sessions.search_scope import (
    _FIXED_PROJECT_ENV,
    _PATHS_FILE,
    _SLUG_MAX,
    warm_scope,
)

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

# Names of directories a person creates: letters, digits, punctuation, spaces, some non-ASCII.
_NAMES = st.text(st.sampled_from("abcXYZ019 ._-+@~,()[]'éü日😀"), min_size=1, max_size=12).filter(
    lambda name: name not in {".", ".."} and "/" not in name
)


def test_warm_scope_shares_the_constants_of_the_full_rules() -> None:
    warm = (_SLUG_MAX, _FIXED_PROJECT_ENV, _PATHS_FILE)
    assert warm == (paths.SLUG_MAX, paths.FIXED_PROJECT_ENV, pathmap.PATHS_FILE)


@settings(max_examples=80, deadline=None)
@given(names=st.lists(_NAMES, min_size=1, max_size=4), depth=st.integers(0, 30))
def test_warm_scope_names_the_folder_local_project_dirs_names(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], depth: int
) -> None:
    base = tmp_path_factory.mktemp("scope")
    config = base / "claude"
    (config / "projects").mkdir(parents=True)
    cwd = base.joinpath(*names, *(["deep"] * depth))  # long enough to need a hash, at times
    cwd.mkdir(parents=True)
    before = os.getcwd()
    os.chdir(cwd)
    try:
        warm = warm_scope(str(projects_dir(config)), str(base / "roam-config"))
        full = frozenset(folder.name for folder in local_project_dirs(cwd, config, PathMap()))
    finally:
        os.chdir(before)
    assert warm is None or warm == full
    if str(cwd.resolve()).isascii() and len(str(cwd.resolve())) <= _SLUG_MAX:
        assert warm is not None  # a plain cwd on this (case-sensitive) file system


def test_warm_scope_leaves_path_mappings_to_the_full_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "claude" / "projects").mkdir(parents=True)
    (tmp_path / _PATHS_FILE).write_text('{"paths": []}')
    monkeypatch.chdir(tmp_path)
    assert warm_scope(str(tmp_path / "claude" / "projects"), str(tmp_path)) is None


def test_warm_scope_leaves_a_fixed_project_folder_to_the_full_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "claude" / "projects").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    monkeypatch.setenv(_FIXED_PROJECT_ENV, "shared")
    monkeypatch.chdir(tmp_path)
    assert warm_scope(str(tmp_path / "claude" / "projects"), str(tmp_path / "none")) is None


def test_warm_scope_leaves_a_case_folding_file_system_to_the_full_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "claude" / "projects"
    root.mkdir(parents=True)
    (tmp_path / "claude" / "PROJECTS").symlink_to(root)  # how a folding file system answers
    monkeypatch.chdir(tmp_path)
    assert warm_scope(str(root), str(tmp_path / "none")) is None
