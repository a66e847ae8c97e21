"""A project folder whose name is not UTF-8 (made by hand: Claude Code writes only letters,
digits and ``-`` there, and Syncthing never syncs such a name) is skipped by every walk and
named by ``roam verify``; before, it made ``ls``, ``cf`` and ``verify`` fail with a bug report."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Final

import pytest
from typer.testing import CliRunner, Result

from session_roam.cli.app import app
from session_roam.engine.core.paths import claude_config_dir
from session_roam.engine.core.safefs import is_project_name, shown_name
from tests.engine.sessiontree import BASE, SID, SID2, Tree, row, u

if TYPE_CHECKING:
    from pathlib import Path

ODD: Final = os.fsdecode(b"-home-bad\xff")


@pytest.fixture
def tree(clean_environ: Path) -> Tree:
    tree = Tree(claude_config_dir())
    tree.write(f"{SID}.jsonl", BASE)
    tree.write(f"{SID2}.jsonl", row(u(7), None, "hidden words", SID2), slug=ODD)
    return tree


def roam(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def roam_json(*args: str) -> Any:
    result = roam("--json", *args)
    return json.loads(result.stdout)


def test_a_name_that_is_not_utf8_is_not_a_project_name() -> None:
    assert not is_project_name(ODD)


def test_ascii_and_utf8_names_are_project_names_and_dot_folders_are_not() -> None:
    assert is_project_name("-tmp-proj")
    assert is_project_name("-home-zoë")
    assert not is_project_name(".roam")


def test_a_name_that_is_not_utf8_is_shown_with_escapes() -> None:
    assert shown_name(ODD) == "-home-bad\\xff"


def test_ls_all_lists_the_other_projects(tree: Tree) -> None:
    rows = roam_json("ls", "--all")
    assert [r["session_id"] for r in rows] == [SID]


def test_cf_all_searches_the_other_projects(tree: Tree) -> None:
    result = roam("--json", "cf", "base", "--all")
    assert result.exit_code == 0, result.output
    assert [m["session_id"] for m in json.loads(result.stdout)] == [SID]


def test_verify_names_the_folder_and_how_to_fix_it(tree: Tree) -> None:
    doc = roam_json("verify")
    said = [f for f in doc["findings"] if "not UTF-8" in f["message"]]
    assert len(said) == 1
    assert "-home-bad\\xff" in said[0]["message"]
    assert said[0]["status"] == "warn"


def test_conflicts_list_all_skips_the_folder(tree: Tree) -> None:
    result = roam("conflicts", "list", "--all")
    assert result.exit_code == 0, result.output
