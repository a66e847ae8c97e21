"""`roam verify` says which way this machine recognises a project kept at another path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.core import xdg
from session_roam.engine.sessions.pathmap import map_path
from session_roam.engine.verify.checks_identity import check_project_identity
from session_roam.engine.verify.model import Status

if TYPE_CHECKING:
    from pathlib import Path


def test_a_fixed_project_folder_name_in_force_is_named() -> None:
    env = {"CLAUDE_CONFIG_DIR": "/c", "CLAUDE_CODE_PROJECT_DIR_NAME": "shared"}
    (finding,) = check_project_identity(env)
    assert finding.status is Status.OK
    assert "fixed project folder name 'shared'" in finding.message


def test_a_fixed_name_the_client_ignores_warns_and_says_why() -> None:
    (finding,) = check_project_identity({"CLAUDE_CODE_PROJECT_DIR_NAME": "shared"})
    assert finding.status is Status.WARN
    assert "CLAUDE_CONFIG_DIR is not set" in finding.message


def test_path_maps_in_force_are_counted(tmp_path: Path) -> None:
    xdg.config_dir().mkdir(parents=True, exist_ok=True)
    map_path(xdg.config_dir(), "/Users/nat", str(tmp_path))
    (finding,) = check_project_identity({})
    assert (finding.status, "1 path map " in finding.message) == (Status.OK, True)


def test_neither_is_said_plainly() -> None:
    (finding,) = check_project_identity({})
    assert "by their path only" in finding.message
