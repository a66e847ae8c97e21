from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.sessions.pick import custom_title, pick_session
from session_roam.errors import SessionNotFound

if TYPE_CHECKING:
    from pathlib import Path

A = "aaaaaaaa-1111-4111-8111-111111111111"
B = "bbbbbbbb-2222-4222-8222-222222222222"
C = "aaaa0000-3333-4333-8333-333333333333"


def _row(kind: str = "user", **extra: object) -> str:
    return json.dumps({"type": kind, "uuid": f"u-{kind}", "parentUuid": None, **extra})


def _session(folder: Path, session_id: str, *, mtime: float, title: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [_row("user"), _row("assistant")]
    if title is not None:
        lines.append(json.dumps({"type": "custom-title", "customTitle": title}))
    path = folder / f"{session_id}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "projects"


@pytest.fixture
def here(root: Path) -> Path:
    return root / "-work-proj"


def test_pick_newest_takes_the_newest_mtime(root: Path, here: Path) -> None:
    _session(here, A, mtime=1000)
    _session(here, B, mtime=2000)
    picked = pick_session(here, root)
    assert (picked.session_id, picked.chosen_by) == (B, "newest")


def test_pick_newest_skips_conflict_copies_and_temp_files(root: Path, here: Path) -> None:
    _session(here, A, mtime=1000)
    copy = here / f"{B}.sync-conflict-20261125-101010-ABCDEFG.jsonl"
    copy.write_text(_row() + "\n")
    temp = here / f".syncthing.{B}.jsonl.tmp"
    temp.write_text(_row() + "\n")
    os.utime(temp, (1000, 1000))  # a failed pull's, left for reuse (a fresh one: test_swap_window)
    assert pick_session(here, root).session_id == A


def test_pick_newest_skips_files_without_conversation(root: Path, here: Path) -> None:
    _session(here, A, mtime=1000)
    empty = here / f"{B}.jsonl"
    empty.write_text(json.dumps({"type": "last-prompt", "leafUuid": None}) + "\n")
    assert pick_session(here, root).session_id == A


def test_pick_newest_refuses_an_empty_project(root: Path, here: Path) -> None:
    with pytest.raises(SessionNotFound, match="No session here yet"):
        pick_session(here, root)


def test_pick_by_full_id_finds_it_in_another_project(root: Path, here: Path) -> None:
    _session(here, A, mtime=1000)
    _session(root / "-elsewhere", B, mtime=1000)
    picked = pick_session(here, root, B.upper())
    assert (picked.session_id, picked.chosen_by) == (B, "id")


def test_pick_by_unique_prefix(root: Path, here: Path) -> None:
    _session(here, A, mtime=1000)
    _session(here, B, mtime=1000)
    assert pick_session(here, root, "bbbb").session_id == B


def test_pick_by_ambiguous_prefix_lists_candidates(root: Path, here: Path) -> None:
    _session(here, A, mtime=1000)
    _session(here, C, mtime=1000)
    with pytest.raises(SessionNotFound, match="matches 2 sessions") as caught:
        pick_session(here, root, "aaaa")
    assert A in str(caught.value)
    assert C in str(caught.value)


def test_pick_refuses_a_prefix_shorter_than_four_characters(root: Path, here: Path) -> None:
    _session(here, A, mtime=1000)
    with pytest.raises(SessionNotFound, match="No session matches 'aaa'"):
        pick_session(here, root, "aaa")


def test_pick_by_title_uses_the_last_custom_title(root: Path, here: Path) -> None:
    _session(here, A, mtime=1000, title="shared-notes")
    picked = pick_session(here, root, "shared-notes")
    assert (picked.session_id, picked.chosen_by, picked.title) == (A, "title", "shared-notes")


def test_pick_unknown_name_lists_the_sessions_here(root: Path, here: Path) -> None:
    _session(here, A, mtime=1000, title="alpha")
    with pytest.raises(SessionNotFound, match=r"No session matches 'beta'.*alpha"):
        pick_session(here, root, "beta")


def test_pick_prefers_matches_in_the_cwd_project(root: Path, here: Path) -> None:
    _session(here, A, mtime=1000, title="same")
    _session(root / "-elsewhere", B, mtime=1000, title="same")
    assert pick_session(here, root, "same").session_id == A


def test_custom_title_falls_back_to_the_sidecar_file(here: Path) -> None:
    path = _session(here, A, mtime=1000)
    (here / A).mkdir()
    (here / A / "custom-title.json").write_text(json.dumps({"customTitle": "side"}))
    assert custom_title(path) == "side"
