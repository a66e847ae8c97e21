"""resume_chain: the rule of research/claude-code-format.md §2.5, on small files."""

from __future__ import annotations

import json
from typing import Any

from session_roam.merge import resume_chain


def _row(uuid: str, parent: str | None, **extra: Any) -> bytes:
    obj = {"parentUuid": parent, "type": "user", "message": {"content": "x"}, "uuid": uuid}
    return json.dumps({**obj, **extra}).encode() + b"\n"


def _checkpoint(leaf: str) -> bytes:
    return json.dumps({"type": "last-prompt", "leafUuid": leaf}).encode() + b"\n"


def test_resume_chain_follows_the_last_checkpoint() -> None:
    data = _row("r", None) + _row("a", "r") + _row("b", "r") + _checkpoint("a")
    assert resume_chain(data) == ["r", "a"]


def test_resume_chain_skips_a_checkpoint_whose_leaf_is_missing() -> None:
    data = _row("r", None) + _row("a", "r") + _checkpoint("a") + _row("b", "r") + _checkpoint("zz")
    assert resume_chain(data) == ["r", "a"]


def test_resume_chain_descends_to_the_last_descendant_in_the_file() -> None:
    data = _row("r", None) + _checkpoint("r") + _row("a", "r") + _row("b", "a")
    assert resume_chain(data) == ["r", "a", "b"]


def test_resume_chain_falls_back_to_the_last_message_row() -> None:
    data = _row("r", None) + _row("a", "r") + _row("b", "r")
    assert resume_chain(data) == ["r", "b"]


def test_resume_chain_ignores_inline_sidechain_rows_for_the_fallback() -> None:
    data = _row("r", None) + _row("a", "r") + _row("s", None, isSidechain=True)
    assert resume_chain(data) == ["r", "a"]


def test_resume_chain_stops_at_a_compact_boundary() -> None:
    boundary = _row("c", None, type="system", subtype="compact_boundary", logicalParentUuid="a")
    data = _row("r", None) + _row("a", "r") + boundary + _row("n", "c")
    assert resume_chain(data) == ["c", "n"]


def test_resume_chain_can_walk_through_compaction() -> None:
    boundary = _row("c", None, type="system", subtype="compact_boundary", logicalParentUuid="a")
    data = _row("r", None) + _row("a", "r") + boundary + _row("n", "c")
    assert resume_chain(data, through_compaction=True) == ["r", "a", "c", "n"]


def test_resume_chain_skips_unparseable_lines() -> None:
    data = _row("r", None) + b"garbage\n" + _row("a", "r")
    assert resume_chain(data) == ["r", "a"]
