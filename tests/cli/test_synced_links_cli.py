"""Issue 22 at the command line: links in the synced folder are reported, never followed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import pytest
from typer.testing import CliRunner, Result

from session_roam.cli.app import app
from session_roam.engine.core.paths import claude_config_dir
from tests.engine.sessiontree import BASE, SID, SID2, STAMP_A, Tree

if TYPE_CHECKING:
    from pathlib import Path

DECOY: Final = "DECOY-history-of-this-machine-91c2"


@pytest.fixture
def tree(clean_environ: Path) -> Tree:
    tree = Tree(claude_config_dir())
    history = tree.config / "history.jsonl"
    history.parent.mkdir(parents=True, exist_ok=True)
    history.write_text(json.dumps({"display": DECOY}) + "\n")
    tree.project().joinpath(f"{SID}.jsonl").symlink_to("../../history.jsonl")
    tree.write(f"{SID}.sync-conflict-{STAMP_A}.jsonl", b'{"type":"summary"}\n')
    return tree


def roam(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def roam_json(*args: str) -> Any:
    return json.loads(roam("--json", *args).stdout)


def test_conflicts_list_names_the_link_and_does_not_offer_the_session(tree: Tree) -> None:
    doc = roam_json("conflicts", "list", "--all")
    assert doc["links"] == [f"-tmp-proj/{SID}.jsonl"]
    assert doc["sessions"] == []


def test_conflicts_list_tells_a_person_about_the_link(tree: Tree) -> None:
    result = roam("conflicts", "list", "--all")
    assert result.exit_code == 0
    assert f"-tmp-proj/{SID}.jsonl" in result.output
    assert "symbolic link" in result.output


def test_conflicts_merge_all_leaves_a_linked_session_alone(tree: Tree) -> None:
    result = roam("conflicts", "merge", "--all")
    assert result.exit_code == 0, result.output
    assert DECOY not in result.output
    assert (tree.project() / f"{SID}.jsonl").is_symlink()
    assert (tree.project() / f"{SID}.sync-conflict-{STAMP_A}.jsonl").exists()


def test_conflicts_merge_of_a_linked_session_is_refused_in_one_sentence(tree: Tree) -> None:
    result = roam("conflicts", "merge", SID)
    assert result.exit_code == 2, result.output
    assert "symbolic link" in result.output
    assert "Traceback" not in result.output
    assert DECOY not in result.output
    assert (tree.project() / f"{SID}.jsonl").is_symlink()


def test_ls_does_not_list_a_linked_session(tree: Tree) -> None:
    doc = roam_json("ls", "--all")
    assert DECOY not in json.dumps(doc)


def test_verify_names_the_link_and_a_session_with_a_record_too_deep_to_read(tree: Tree) -> None:
    deep = b'{"type":"user","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    tree.write(f"{SID2}.jsonl", BASE + deep)
    result = roam("--json", "verify")
    assert "Traceback" not in result.output
    doc = json.loads(result.stdout)
    messages = [f["message"] for f in doc["findings"] if f["dimension"] == "synced-data"]
    assert any(f"-tmp-proj/{SID}.jsonl" in m for m in messages)
    assert any(f"-tmp-proj/{SID2}.jsonl (1)" in m for m in messages)
    assert DECOY not in result.stdout
