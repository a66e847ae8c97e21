"""kill -9 of a real ``roam conflicts merge`` at every durable step: no litter, no lost line.

Each run is a real subprocess killed by SIGKILL just before its n-th fsync, rename, link or
unlink (``tests.support.crash``). After it, every original line is still in the projects
folder; the next ``roam conflicts merge`` completes, and leaves no ``.roam-tmp-*`` in the
projects folder or the backup store.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Final

import pytest

from session_roam.engine.core.backup import backups_root, list_backups
from session_roam.engine.core.temps import TEMP_PREFIX
from tests.engine.sessiontree import SID, STAMP_A, Tree, row, u
from tests.support.crash import run_roam

if TYPE_CHECKING:
    from pathlib import Path

AGENT_A: Final = row(u(10), None, "subagent on A") + row(u(11), u(10), "more on A")
AGENT_B: Final = row(u(10), None, "subagent on A") + row(u(12), u(10), "more on B")
ALL_UUIDS: Final = {u(n) for n in (1, 2, 3, 4, 10, 11, 12)}
#: Kill points tried; a merge of the test session takes 38 durable steps today.
MAX_STEPS: Final = 42


def _conflicted(tree: Tree) -> None:
    tree.conflicted_session(SID)
    tree.write(f"{SID}/subagents/agent-a1.jsonl", AGENT_B)
    tree.write(f"{SID}/subagents/agent-a1.sync-conflict-{STAMP_A}.jsonl", AGENT_A)


def _uuids_in(folder: Path) -> set[str]:
    found: set[str] = set()
    for path in folder.rglob("*.jsonl"):
        if not path.name.startswith(TEMP_PREFIX):
            found.update(re.findall(r'"uuid":"([0-9a-f-]{36})"', path.read_text()))
    return found


def _litter(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob(f"{TEMP_PREFIX}*"))


@pytest.fixture
def tree(clean_environ: Path) -> Tree:
    return Tree(clean_environ / ".claude")


@pytest.fixture(scope="module")
def durable_steps(tmp_path_factory: pytest.TempPathFactory) -> int:
    """How many durable steps a merge of the test session takes when nothing kills it."""
    home = tmp_path_factory.mktemp("count")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_STATE_HOME", str(home / "state"))
        patch.setenv("XDG_CONFIG_HOME", str(home / "config"))
        patch.delenv("CLAUDE_CONFIG_DIR", raising=False)
        _conflicted(Tree(home / ".claude"))
        done = run_roam(0, "conflicts", "merge", "--all", "--json")
    assert done.returncode == 0, done.stderr
    return int(re.findall(r"durable-steps=(\d+)", done.stderr)[-1])


def test_every_durable_step_of_a_merge_is_tried(durable_steps: int) -> None:
    assert 10 <= durable_steps <= MAX_STEPS, "widen MAX_STEPS so every step is tried"


@pytest.mark.parametrize("kill_at", range(1, MAX_STEPS + 1))
def test_merge_killed_at_any_step_loses_no_line_and_leaves_no_litter(
    tree: Tree, kill_at: int, durable_steps: int
) -> None:
    if kill_at > durable_steps:
        pytest.skip(f"a merge takes {durable_steps} durable steps")
    _conflicted(tree)
    killed = run_roam(kill_at, "conflicts", "merge", "--all")
    assert killed.returncode == -9
    assert _uuids_in(tree.projects) == ALL_UUIDS
    again = run_roam(0, "conflicts", "merge", "--all", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["schema"] == "roam.conflicts.merge/1"
    assert _litter(tree.projects) == []
    assert _litter(backups_root()) == []
    assert tree.conflict_files() == []
    assert _uuids_in(tree.projects) == ALL_UUIDS
    assert list_backups(SID)
