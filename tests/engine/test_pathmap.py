"""Path mappings: another machine's /Users/nat is this machine's /home/nat."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.sessions.pathmap import (
    PATHS_FILE,
    PathMap,
    PathMapping,
    load_pathmap,
    map_path,
    unmap_path,
)
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path


def test_pathmap_maps_a_path_under_the_source() -> None:
    pathmap = PathMap((PathMapping("/Users/nat", "/home/nat"),))
    assert pathmap.to_local("/Users/nat/proj/api") == "/home/nat/proj/api"


def test_pathmap_maps_the_source_itself() -> None:
    pathmap = PathMap((PathMapping("/Users/nat", "/home/nat"),))
    assert pathmap.to_local("/Users/nat") == "/home/nat"


def test_pathmap_leaves_a_sibling_with_a_common_prefix_alone() -> None:
    pathmap = PathMap((PathMapping("/Users/nat", "/home/nat"),))
    assert pathmap.to_local("/Users/natalie/proj") == "/Users/natalie/proj"


def test_pathmap_prefers_the_longest_source() -> None:
    pathmap = PathMap(
        (PathMapping("/Users/nat", "/home/nat"), PathMapping("/Users/nat/work", "/srv/work"))
    )
    assert pathmap.to_local("/Users/nat/work/api") == "/srv/work/api"


def test_map_path_persists_private_json(tmp_path: Path) -> None:
    map_path(tmp_path, "/Users/nat/", "/home/nat")
    assert load_pathmap(tmp_path).mappings == (PathMapping("/Users/nat", "/home/nat"),)
    assert stat.S_IMODE((tmp_path / PATHS_FILE).stat().st_mode) == 0o600


def test_map_path_replaces_an_existing_source(tmp_path: Path) -> None:
    map_path(tmp_path, "/Users/nat", "/home/nat")
    map_path(tmp_path, "/Users/nat", "/home/nathan")
    assert load_pathmap(tmp_path).mappings == (PathMapping("/Users/nat", "/home/nathan"),)


def test_map_path_refuses_a_relative_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not an absolute path"):
        map_path(tmp_path, "Users/nat", "/home/nat")


def test_map_path_refuses_identical_paths(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="the same path"):
        map_path(tmp_path, "/home/nat", "/home/nat/")


def test_unmap_path_forgets_a_mapping(tmp_path: Path) -> None:
    map_path(tmp_path, "/Users/nat", "/home/nat")
    assert unmap_path(tmp_path, "/Users/nat").mappings == ()


def test_unmap_path_names_the_known_sources_when_missing(tmp_path: Path) -> None:
    map_path(tmp_path, "/Users/nat", "/home/nat")
    with pytest.raises(InvalidInput, match="mapped: /Users/nat"):
        unmap_path(tmp_path, "/Users/bob")


def test_load_pathmap_refuses_a_damaged_file(tmp_path: Path) -> None:
    (tmp_path / PATHS_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not a valid path-mapping file"):
        load_pathmap(tmp_path)
