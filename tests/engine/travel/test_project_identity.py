"""`roam cr` without an id, `ls` and `cs` find a project's sessions through path maps or the
client's fixed project folder name."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.sessions.pathmap import PathMap, PathMapping, local_project_dirs
from session_roam.engine.sessions.pick import pick_newest
from session_roam.engine.sessions.summary_list import list_summaries
from session_roam.errors import SessionNotFound

if TYPE_CHECKING:
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter


def _newer(path: Path, seconds: int) -> None:
    stamp = path.stat().st_mtime + seconds
    os.utime(path, (stamp, stamp))


def test_cr_without_an_id_picks_the_newest_session_recorded_under_a_mapped_path(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    writer.write(project, [("made here", "ok")])
    foreign = "/Users/nat/proj"
    there = writer.write(foreign, [("made on the mac", "ok")], exact=True)
    _newer(there, 60)
    pathmap = PathMap((PathMapping("/Users/nat", str(project.parent)),))
    picked = pick_newest(local_project_dirs(project, config_dir, pathmap))
    assert picked.path == there


def test_cr_without_an_id_and_no_session_anywhere_names_the_cwds_folder(
    project: Path, config_dir: Path
) -> None:
    with pytest.raises(SessionNotFound, match="No session here yet"):
        pick_newest(local_project_dirs(project, config_dir, PathMap()))


def test_ls_reads_the_fixed_project_folder_for_any_cwd(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("CLAUDE_CODE_PROJECT_DIR_NAME", "shared")
    path = writer.write("/somewhere/else", [("filed under the fixed name", "ok")])
    assert path.parent.name == "shared"
    (summary,) = list_summaries(config_dir, PathMap(), cwd=project)
    assert summary.session_id == path.stem
