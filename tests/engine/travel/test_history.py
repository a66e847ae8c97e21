"""The prompt history travels only when asked, and merges as a union in time order."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core import xdg
from session_roam.engine.travel.carry import companions_around
from session_roam.engine.travel.history import carry_history, history_enabled, place_history
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter


def _line(text: str, stamp: int, session: str) -> bytes:
    record = {"display": text, "pastedContents": {}, "timestamp": stamp, "project": "/p"}
    return json.dumps({**record, "sessionId": session}).encode()


def _history(config: Path, *lines: bytes) -> None:
    (config / "history.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def _opt_in(text: str = "[companions]\nhistory = true\n") -> None:
    xdg.config_dir().mkdir(parents=True, exist_ok=True)
    (xdg.config_dir() / "config.toml").write_text(text)


@pytest.fixture
def session(writer: SessionWriter, project: Path) -> Path:
    return writer.write(project, [("hello", "ok")])


def test_history_is_off_unless_asked() -> None:
    assert history_enabled() is False
    _opt_in()
    assert history_enabled() is True


def test_a_broken_config_is_refused_in_one_sentence() -> None:
    _opt_in("[companions\n")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        history_enabled()


def test_only_the_sessions_own_lines_are_carried(session: Path, config_dir: Path) -> None:
    ours, theirs = _line("ours", 1, session.stem), _line("other session", 2, "x")
    _history(config_dir, ours, theirs)
    assert carry_history(session, config_dir, session.stem) == 1
    carried = session.with_suffix("") / "roam-companions" / "history" / "history.jsonl"
    assert carried.read_bytes() == ours + b"\n"


def test_placed_lines_join_the_local_history_in_time_order(
    session: Path, config_dir: Path, tmp_path: Path
) -> None:
    early, late = (
        _line("typed there", 10, session.stem),
        _line("typed there later", 30, session.stem),
    )
    _history(config_dir, early, late)
    carry_history(session, config_dir, session.stem)
    here = tmp_path / "here"
    here.mkdir()
    middle = _line("typed here", 20, "another-session")
    _history(here, middle)
    assert place_history(session, here) == 2
    assert (here / "history.jsonl").read_bytes() == early + b"\n" + middle + b"\n" + late + b"\n"
    assert place_history(session, here) == 0


def test_with_history_off_companions_around_leaves_it_alone(
    session: Path, config_dir: Path, tmp_path: Path
) -> None:
    _history(config_dir, _line("private", 1, session.stem))
    with companions_around(session, config_dir, session.stem, print):
        pass
    assert not (session.with_suffix("") / "roam-companions" / "history").exists()
    _opt_in()
    with companions_around(session, config_dir, session.stem, print):
        pass
    assert (session.with_suffix("") / "roam-companions" / "history" / "history.jsonl").exists()
