"""A `roam conflicts merge --all` refused at one session says where it stopped, in its message
and as ``stopped_at`` in the JSON error envelope, whatever the sessions before it became."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from session_roam.engine.conflicts import merging
from session_roam.errors import MergeRaced


def _refused_at(monkeypatch: pytest.MonkeyPatch, refused: str, before: str) -> MergeRaced:
    def merge_one(session: Any, **_options: Any) -> Any:
        if session.session_id == refused:
            raise MergeRaced(f"x changed while roam was merging session {refused}.")
        return SimpleNamespace(status=before, plan=None)

    monkeypatch.setattr(merging, "merge_session", merge_one)
    sessions: Any = [SimpleNamespace(session_id="a"), SimpleNamespace(session_id="b")]
    with pytest.raises(MergeRaced) as raised:
        merging.merge_sessions(sessions)
    return raised.value


def test_a_refusal_at_the_last_session_with_none_merged_before_says_where_it_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refusal = _refused_at(monkeypatch, "b", "nothing-to-do")
    assert refusal.details["stopped_at"] == "b"
    assert refusal.message.endswith("Stopped at session b: no session before it was merged.")


def test_a_refusal_at_the_first_of_two_sessions_names_the_one_not_tried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refusal = _refused_at(monkeypatch, "a", "merged")
    assert (refusal.details["stopped_at"], refusal.details["not_tried"]) == ("a", ["b"])
