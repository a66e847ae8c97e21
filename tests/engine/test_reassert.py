"""Re-announcing: a file held here that the cluster calls deleted is given back, cheaply."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from session_roam.engine.deletions.reassert import held_files, reassert
from session_roam.engine.syncthing.client import SyncthingClient

if TYPE_CHECKING:
    from pathlib import Path

SESSION = "0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40"
KEPT = f"-p/{SESSION}.jsonl"
PRESENT = "-p/11111111-2222-4333-8444-555555555555.jsonl"
OLD_MTIME = 1_700_000_000


class FakeNode:
    """Answers browse (the global tree), db/file and db/scan like Syncthing 1.19 does."""

    def __init__(self, deleted: set[str], present: set[str]) -> None:
        self.deleted = deleted
        self.present = present
        self.scanned: list[list[str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/rest/db/browse":
            children = [
                {"name": name.split("/")[1], "type": "FILE_INFO_TYPE_FILE"}
                for name in sorted(self.present)
            ]
            return httpx.Response(
                200, json=[{"name": "-p", "type": "FILE_INFO_TYPE_DIRECTORY", "children": children}]
            )
        if path == "/rest/db/file":
            name = request.url.params["file"]
            info: dict[str, Any] = {"global": {"name": name, "deleted": name in self.deleted}}
            info["local"] = {"name": name, "deleted": False}
            return httpx.Response(200, json=info)
        if path == "/rest/db/scan":
            self.scanned.append(request.url.params.get_list("sub"))
            return httpx.Response(200)
        return httpx.Response(404)


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    root = tmp_path / "projects"
    (root / "-p").mkdir(parents=True)
    for rel in (KEPT, PRESENT):
        (root / rel).write_text("{}\n")
        os.utime(root / rel, (OLD_MTIME, OLD_MTIME))
    return root


def _client(node: FakeNode) -> SyncthingClient:
    return SyncthingClient("http://127.0.0.1:1", "k", transport=httpx.MockTransport(node.handle))


def test_reassert_announces_a_file_deleted_elsewhere(projects: Path) -> None:
    node = FakeNode(deleted={KEPT}, present={PRESENT})
    assert reassert(_client(node), "f", projects).announced == (KEPT,)
    assert node.scanned == [[KEPT]]


def test_reassert_changes_the_mtime_never_the_bytes(projects: Path) -> None:
    reassert(_client(FakeNode(deleted={KEPT}, present={PRESENT})), "f", projects)
    assert (projects / KEPT).stat().st_mtime > OLD_MTIME
    assert (projects / KEPT).read_text() == "{}\n"


def test_reassert_leaves_files_the_cluster_still_has(projects: Path) -> None:
    node = FakeNode(deleted=set(), present={KEPT, PRESENT})
    assert reassert(_client(node), "f", projects).announced == ()
    assert node.scanned == []


def test_reassert_respects_a_tombstone(projects: Path) -> None:
    node = FakeNode(deleted={KEPT}, present={PRESENT})
    done = reassert(_client(node), "f", projects, is_tombstoned=lambda s: s == SESSION)
    assert (done.announced, done.skipped_tombstoned) == ((), (KEPT,))


def test_reassert_dry_run_touches_nothing(projects: Path) -> None:
    node = FakeNode(deleted={KEPT}, present={PRESENT})
    assert reassert(_client(node), "f", projects, dry_run=True).announced == (KEPT,)
    assert (projects / KEPT).stat().st_mtime == OLD_MTIME
    assert node.scanned == []


def test_held_files_never_lists_conflict_copies(projects: Path) -> None:
    (projects / "-p" / f"{SESSION}.sync-conflict-20261125-131239-MRUWJBM.jsonl").write_text("x")
    assert sorted(held_files(projects)) == sorted([KEPT, PRESENT])


def _walked(projects: Path, *, conflicts: bool = False) -> list[str]:
    """``held_files`` as it was written with ``os.walk`` and two ``stat`` calls per file."""
    from pathlib import Path as _Path

    from session_roam.engine.core.store import is_conflict_name
    from session_roam.engine.deletions.reassert import SKIP_PREFIXES

    found: list[str] = []
    for root, dirs, files in os.walk(projects, followlinks=False):
        base = _Path(root)
        if base == projects:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files = [f for f in files if not f.startswith(".")]
        for name in sorted(files):
            if name.startswith(SKIP_PREFIXES) or (not conflicts and is_conflict_name(name)):
                continue
            path = base / name
            if path.is_symlink() or not path.is_file():
                continue
            found.append(path.relative_to(projects).as_posix())
    return found


@pytest.mark.parametrize("conflicts", [False, True])
def test_held_files_lists_what_the_os_walk_did_in_its_order(
    projects: Path, conflicts: bool
) -> None:
    side = projects / "-p" / SESSION / "subagents"
    side.mkdir(parents=True)
    (side / "agent-a.jsonl").write_text("x")
    (side / "agent-a.sync-conflict-20261125-131239-MRUWJBM.jsonl").write_text("x")
    (projects / "-p" / "memory").mkdir()
    (projects / "-p" / "memory" / "MEMORY.md").write_text("x")
    (projects / "-p" / ".syncthing.x.tmp").write_text("x")
    (projects / "-p" / "link.jsonl").symlink_to(projects / KEPT)
    (projects / "-p" / "dirlink").symlink_to(side)
    (projects / ".roam").mkdir()
    (projects / ".roam" / "n.json").write_text("x")
    (projects / ".stignore").write_text("x")
    os.mkfifo(projects / "-p" / "fifo")
    assert list(held_files(projects, conflicts=conflicts)) == _walked(projects, conflicts=conflicts)


def test_held_files_walks_a_tree_deeper_than_the_recursion_limit(tmp_path: Path) -> None:
    top = tmp_path / "projects" / "p"
    top.mkdir(parents=True)
    deep = top
    for _ in range(1200):  # one level at a time: pathlib's own mkdir(parents=True) recurses
        deep /= "d"
        deep.mkdir()
    (deep / "f.txt").write_text("x")
    try:
        held = list(held_files(tmp_path / "projects"))
    finally:  # bottom up: shutil.rmtree (pytest's clean-up of old tmp dirs) recurses too
        (deep / "f.txt").unlink()
        while deep != top:
            deep.rmdir()
            deep = deep.parent
    assert held == ["p/" + "d/" * 1200 + "f.txt"]
