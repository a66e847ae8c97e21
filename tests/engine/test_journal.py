from __future__ import annotations

import json
import stat
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_roam.engine.sessions.journal import Journal

if TYPE_CHECKING:
    from pathlib import Path

SID = "aaaaaaaa-1111-4111-8111-111111111111"


def _line(uuid: str, parent: str | None = None, text: str = "") -> bytes:
    row = {"type": "user", "uuid": uuid, "parentUuid": parent, "message": {"content": text}}
    return json.dumps(row).encode()


def _write(path: Path, *lines: bytes) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def _append(path: Path, *lines: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))


@pytest.fixture
def session(tmp_path: Path) -> Path:
    folder = tmp_path / "projects" / "-p"
    folder.mkdir(parents=True)
    path = folder / f"{SID}.jsonl"
    _write(path, _line("u1"), _line("u2", "u1"))
    return path


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal", node="node-a")


def _uuids(lines: list[bytes]) -> list[str]:
    return [json.loads(line)["uuid"] for line in lines]


def test_journal_launch_records_nothing_that_was_already_there(
    journal: Journal, session: Path
) -> None:
    result = journal.record(session, "launch")
    assert result.appended == 0
    assert journal.records(SID) == []


def test_journal_release_records_lines_written_since_launch(
    journal: Journal, session: Path
) -> None:
    journal.record(session, "launch")
    _append(session, _line("u3", "u2"), _line("u4", "u3"))
    result = journal.record(session, "release")
    assert result.appended == 2
    assert _uuids(journal.records(SID)) == ["u3", "u4"]


def test_journal_lines_synced_in_between_runs_are_not_ours(journal: Journal, session: Path) -> None:
    journal.record(session, "launch")
    _append(session, _line("u3", "u2"))
    journal.record(session, "release")
    _append(session, _line("peer", "u3"))  # a peer's turn, synced in while we were not writing
    journal.record(session, "launch")
    _append(session, _line("u5", "peer"))
    journal.record(session, "release")
    assert _uuids(journal.records(SID)) == ["u3", "u5"]


def test_journal_launch_after_an_unreleased_run_recovers_its_lines(
    journal: Journal, session: Path
) -> None:
    journal.record(session, "launch")
    _append(session, _line("u3", "u2"))  # claude was killed: no release
    result = journal.record(session, "launch")
    assert result.recovered
    assert _uuids(journal.records(SID)) == ["u3"]


def test_journal_skips_a_torn_tail_until_it_is_complete(journal: Journal, session: Path) -> None:
    journal.record(session, "launch")
    with session.open("ab") as handle:
        handle.write(_line("u3", "u2")[:10])
    assert journal.record(session, "release").appended == 0
    session.write_bytes(session.read_bytes() + _line("u3", "u2")[10:] + b"\n")
    journal.record(session, "launch")
    _append(session, _line("u4", "u3"))
    journal.record(session, "release")
    assert _uuids(journal.records(SID)) == ["u4"]


def test_journal_compares_by_uuid_when_the_file_was_rewritten(
    journal: Journal, session: Path
) -> None:
    journal.record(session, "launch")
    # A merge rewrote the file (re-parented u2) and then our run appended u3.
    _write(session, _line("u1"), _line("peer", "u1"), _line("u2", "peer"), _line("u3", "u2"))
    result = journal.record(session, "release")
    assert result.rewritten
    assert _uuids(journal.records(SID)) == ["peer", "u3"]


def test_journal_recording_twice_adds_nothing(journal: Journal, session: Path) -> None:
    journal.record(session, "launch")
    _append(session, _line("u3", "u2"))
    journal.record(session, "release")
    assert journal.record(session, "release").appended == 0
    assert _uuids(journal.records(SID)) == ["u3"]


def test_journal_missing_records_finds_turns_the_synced_file_lost(
    journal: Journal, session: Path
) -> None:
    journal.record(session, "launch")
    _append(session, _line("u3", "u2"), _line("u4", "u3"))
    journal.record(session, "release")
    _write(session, _line("u1"), _line("u2", "u1"), _line("u3", "u2"))  # a peer's older copy won
    assert _uuids(journal.missing_records(session)) == ["u4"]


def test_journal_files_are_private(journal: Journal, session: Path) -> None:
    journal.record(session, "launch")
    _append(session, _line("u3", "u2"))
    journal.record(session, "release")
    assert stat.S_IMODE(journal.path_for(SID).stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.root.stat().st_mode) == 0o700


def test_journal_status_counts_records_and_missing(journal: Journal, session: Path) -> None:
    journal.record(session, "launch")
    _append(session, _line("u3", "u2"))
    journal.record(session, "release")
    _write(session, _line("u1"), _line("u2", "u1"))
    status = journal.status(SID)
    assert (status.records, status.missing, status.open) == (1, 1, False)
    assert status.session_path == session


def test_journal_default_root_is_the_xdg_state_folder(tmp_path: Path) -> None:
    journal = Journal()
    assert journal.root == tmp_path / "home" / ".local" / "state" / "session-roam" / "journal"


def test_journal_as_version_adds_the_lost_rows_to_the_synced_file(
    journal: Journal, session: Path
) -> None:
    journal.record(session, "launch")
    _append(session, _line("u3", "u2"), _line("u4", "u3"))
    journal.record(session, "release")
    _write(session, _line("u1"), _line("u2", "u1"), _line("u3", "u2"))
    version = journal.as_version(SID)
    assert _uuids(version.data.splitlines()) == ["u1", "u2", "u3", "u4"]
    assert version.label == "journal of node-a"


def _turn(uuid: str, parent: str, second: int) -> list[bytes]:
    """A user prompt and the assistant's reply, as a real turn is written."""
    stamp = f"2026-11-25T12:00:0{second}.000Z"
    user = {
        "type": "user",
        "uuid": f"{uuid}-u",
        "parentUuid": parent,
        "timestamp": stamp,
        "message": {"role": "user", "content": f"prompt {uuid}"},
    }
    reply = {
        "type": "assistant",
        "uuid": f"{uuid}-a",
        "parentUuid": f"{uuid}-u",
        "timestamp": stamp,
        "message": {
            "role": "assistant",
            "id": f"msg_{uuid}",
            "content": [{"type": "text", "text": "ok"}],
        },
    }
    return [json.dumps(user).encode(), json.dumps(reply).encode()]


def test_journal_version_puts_a_lost_turn_back_into_the_one_resumed_timeline(
    journal: Journal, session: Path
) -> None:
    """Three machines diverged and Syncthing kept gamma's file and beta's copy, dropping ours."""
    from session_roam.merge import Version, merge_versions, resume_chain

    base = _turn("base", "u2", 0)
    _append(session, *base)
    journal.record(session, "launch")
    _append(session, *_turn("alpha", "base-a", 1))
    journal.record(session, "release")
    synced = [_line("u1"), _line("u2", "u1"), *base]
    _write(session, *synced, *_turn("gamma", "base-a", 3))
    copy = b"".join(line + b"\n" for line in [*synced, *_turn("beta", "base-a", 2)])

    merged = merge_versions(
        [Version("main", session.read_bytes()), Version("copy", copy), journal.as_version(SID)]
    )

    chain = resume_chain(merged.data)
    assert [u for u in chain if u.endswith("-u")] == ["base-u", "alpha-u", "beta-u", "gamma-u"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["launch", "release"]), st.integers(0, 3), st.booleans()),
        min_size=1,
        max_size=8,
    )
)
def test_journal_checkpoint_knows_every_row_of_the_file_while_parsing_only_new_rows(
    tmp_path: Path, steps: list[tuple[str, int, bool]]
) -> None:
    """The checkpoint's uuids, kept up from the rows after the last one (issue 16), are those of
    the whole file, whether rows were appended or the file was rewritten in between."""
    root = tmp_path / str(len(list(tmp_path.iterdir())))
    path = root / "projects" / "-p" / f"{SID}.jsonl"
    path.parent.mkdir(parents=True)
    _write(path, _line("u0"))
    journal = Journal(root / "journal", node="node-a")
    made = 1
    for phase, appended, rewrite in steps:
        if rewrite:
            _write(path, *(_line(f"u{i}") for i in range(made) if i % 2 == 0))
        for _ in range(appended):
            _append(path, _line(f"u{made}"))
            made += 1
        journal.record(path, "launch" if phase == "launch" else "release")
        state = json.loads((root / "journal" / f"{SID}.state.json").read_text())
        assert set(state["uuids"]) == set(_uuids(path.read_bytes().splitlines()))
