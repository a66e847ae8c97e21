"""``roam verify`` reads what changed since its last run plus a rotating sample, says how much
it covered, and ``--full`` reads everything; what it reports matches reading every file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.core.paths import projects_dir
from session_roam.engine.sessions import summary_read
from session_roam.engine.sessions.pathmap import PathMap
from session_roam.engine.verify import sessions_check
from session_roam.engine.verify.sessions_check import read_sessions

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.engine.sessions_fixtures import SessionWriter


def _sessions(writer: SessionWriter, project: Path, count: int) -> list[Path]:
    return [writer.write(project, [(f"ask {n}", "a")]) for n in range(count)]


def test_a_second_verify_covers_the_changed_session_and_a_sample(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _sessions(writer, project, 5)
    monkeypatch.setattr(sessions_check, "SAMPLE", 2)
    read_sessions(projects_dir(config_dir), PathMap())
    writer.append(paths[0], [("more", "b")])
    again = read_sessions(projects_dir(config_dir), PathMap())
    assert (again.changed, again.sampled, again.total) == (1, 2, 5)
    assert again.coverage == "checked 1 changed + 2 sampled (1 KB) of 5 sessions"


def test_the_sample_rotates_through_every_session(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sessions(writer, project, 6)
    monkeypatch.setattr(sessions_check, "SAMPLE", 2)
    read_sessions(projects_dir(config_dir), PathMap())
    seen: list[str] = []
    real = summary_read.read_into

    def spy(path: Path | str, fold: summary_read.Fold, offset: int = 0) -> object:
        seen.append(str(path))
        return real(path, fold, offset)

    monkeypatch.setattr("session_roam.engine.sessions.summary_cache.read_into", spy)
    for _ in range(3):
        read_sessions(projects_dir(config_dir), PathMap())
    assert len(seen) == 6
    assert len(set(seen)) == 6


def test_full_reads_every_session_and_says_so(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    _sessions(writer, project, 3)
    read_sessions(projects_dir(config_dir), PathMap())
    ticks: list[tuple[int, int]] = []
    full = read_sessions(
        projects_dir(config_dir), PathMap(), full=True, progress=lambda d, t: ticks.append((d, t))
    )
    assert full.coverage == "checked all 3 sessions"
    assert len(ticks) == 3


def test_records_over_the_caps_stay_reported_when_their_file_is_not_read_again(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    path = writer.write(project, [("q", "a")])
    with path.open("ab") as handle:
        handle.write(b'{"type":"user","message":' + b"[" * 300 + b"]" * 300 + b"}\n")
    first = read_sessions(projects_dir(config_dir), PathMap())
    again = read_sessions(projects_dir(config_dir), PathMap())
    assert first.unread == again.unread == {path: 1}


def test_a_takeover_fork_is_found_through_the_cache(config_dir: Path) -> None:
    from tests.merge.sessions import late_reply_fork

    project = projects_dir(config_dir) / "-tmp-demo"
    project.mkdir(parents=True)
    data, session = late_reply_fork()
    (project / f"{session}.jsonl").write_bytes(data)
    read = read_sessions(projects_dir(config_dir), PathMap())
    assert [p.session_id for p in read.pending] == [session]


def test_the_one_walk_also_names_every_link_for_the_synced_data_check(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from session_roam.engine.core.safefs import find_links

    path = writer.write(project, [("q", "a")])
    root = projects_dir(config_dir)
    for folder in (path.parent / "memory", root / ".roam", path.parent / path.stem / "x"):
        folder.mkdir(parents=True)
        (folder / "planted").symlink_to("/etc/passwd")
    (path.parent / "link.jsonl").symlink_to(path)
    expected = sorted(str(p) for p in find_links(root))
    monkeypatch.setattr(sessions_check, "find_links", lambda _root: [])  # not walked again
    links: list[str] = []
    read_sessions(root, PathMap(), links=links)
    assert links == expected
    assert len(links) == 4


def test_the_sample_stops_at_its_byte_budget(
    writer: SessionWriter, project: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _sessions(writer, project, 4)
    read_sessions(projects_dir(config_dir), PathMap())
    size = max(p.stat().st_size for p in paths)
    monkeypatch.setattr(sessions_check, "SAMPLE_BYTES", size + size // 2)
    again = read_sessions(projects_dir(config_dir), PathMap())
    assert (again.sampled, again.total) == (1, 4)
    assert again.sampled_bytes <= size + size // 2


def test_without_a_live_watcher_verify_says_it_walked_every_session(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    writer.write(project, [("q", "a")])
    assert read_sessions(projects_dir(config_dir), PathMap()).walked


def test_while_a_live_watcher_keeps_the_cache_verify_says_it_did_not_walk(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    from session_roam.engine.conflicts.watch import Watcher

    writer.write(project, [("q", "a")])
    root = projects_dir(config_dir)
    Watcher(root, is_live=lambda _session: False)._start_summaries()
    assert not read_sessions(root, PathMap()).walked


def test_a_trusted_verify_sample_never_reads_back_a_file_removed_since_its_row(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    import sqlite3

    from session_roam.engine.conflicts.watch import Watcher
    from session_roam.engine.sessions.summary_cache import cache_path

    gone = writer.write(project, [("q", "a")])
    root = projects_dir(config_dir)
    Watcher(root, is_live=lambda _session: False)._start_summaries()
    gone.unlink()  # the watcher's event for it has not come yet
    read_sessions(root, PathMap())
    with sqlite3.connect(cache_path()) as conn:
        rows = conn.execute("SELECT unreadable FROM summary WHERE path = ?", (str(gone),))
        assert [row[0] for row in rows] == [None]
