"""Issue 22: a symlink in the synced folder is data, never a way out of it.

Each test plants links the way a hostile peer (or a person's copy) would, next to a decoy
"secret" file outside the folder, and asserts for one reader or writer that the secret's bytes
reach no output, index, backup or synced file, and that nothing outside the folder changes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Final

import pytest

from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.core.backup import backups_root
from session_roam.engine.core.bounded import iter_file_lines
from session_roam.engine.core.safefs import (
    LinkRefused,
    find_links,
    has_link_below,
    read_bytes_nofollow,
    refuse_links,
)
from session_roam.engine.core.store import find_session_files, list_all_sessions, read_bytes
from session_roam.engine.deletions.tombstones import (
    TOMBSTONES_DIR,
    invalid_tombstones,
    is_tombstoned,
    tombstoned_sessions,
)
from session_roam.engine.lease.model import Claim, ClaimState
from session_roam.engine.lease.stamp import file_stamp
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.resume.safe import session_cwd
from session_roam.engine.sessions.journal import Journal
from session_roam.engine.sessions.pathmap import PathMap
from session_roam.engine.sessions.pick import custom_title, pick_session
from session_roam.engine.sessions.search import search_sessions
from session_roam.engine.sessions.summary_list import list_summaries
from session_roam.engine.syncthing.nodeinfo import read_nodes
from session_roam.engine.verify.checks_synced import gather_synced_data

SID: Final = "0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40"
OTHER: Final = "1c6d8b63-0e2f-4c1f-8b66-4d2d2e3f4051"
SECRET: Final = b"TOP-SECRET-history-line-7f3a"
COPY: Final = f"{SID}.sync-conflict-20261125-120000-BBBBBBB.jsonl"


def _row(uuid: str, parent: str | None, text: str, cwd: str = "/work/p") -> bytes:
    row = {
        "parentUuid": parent,
        "type": "user",
        "uuid": uuid,
        "cwd": cwd,
        "sessionId": SID,
        "timestamp": "2026-03-01T10:00:00.000Z",
        "message": {"role": "user", "content": text},
    }
    return (json.dumps(row, separators=(",", ":")) + "\n").encode()


def _secret_row() -> bytes:
    return _row("99999999-9999-4999-8999-999999999999", None, SECRET.decode(), cwd="/secret")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A Claude config folder with one project, and a decoy secret outside ``projects``."""
    root = tmp_path / "claude"
    (root / "projects" / "-work-p").mkdir(parents=True)
    (root / "history.jsonl").write_bytes(_secret_row())
    return root


@pytest.fixture
def projects(home: Path) -> Path:
    return home / "projects"


@pytest.fixture
def project(projects: Path) -> Path:
    return projects / "-work-p"


def _everything_under(*roots: Path) -> bytes:
    found = b""
    for root in roots:
        for here, _dirs, files in os.walk(root):
            for name in files:
                path = Path(here) / name
                if not path.is_symlink():
                    found += path.read_bytes()
    return found


def _plant_linked_session(project: Path, home: Path) -> None:
    """The issue's first case: ``<id>.jsonl -> ../../history.jsonl`` plus a conflict copy."""
    (project / f"{SID}.jsonl").symlink_to(home / "history.jsonl")
    (project / COPY).write_bytes(_row("11111111-1111-4111-8111-111111111111", None, "hello"))


# -- the rule itself ----------------------------------------------------------------------


def test_read_bytes_nofollow_refuses_a_symlinked_file(project: Path, home: Path) -> None:
    link = project / "x.jsonl"
    link.symlink_to(home / "history.jsonl")
    with pytest.raises(LinkRefused):
        read_bytes_nofollow(link)


def test_read_bytes_nofollow_refuses_a_file_inside_a_symlinked_folder(
    projects: Path, home: Path
) -> None:
    (projects / "-linked").symlink_to(home)
    with pytest.raises(LinkRefused):
        read_bytes_nofollow(projects / "-linked" / "history.jsonl", projects)


def test_read_bytes_nofollow_refuses_a_fifo_without_hanging(project: Path) -> None:
    os.mkfifo(project / f"{SID}.jsonl")
    with pytest.raises(LinkRefused):
        read_bytes_nofollow(project / f"{SID}.jsonl")


def test_has_link_below_trusts_the_root_itself(tmp_path: Path, project: Path) -> None:
    (tmp_path / "alias").symlink_to(project.parent)
    assert not has_link_below(tmp_path / "alias", tmp_path / "alias" / "-work-p")


def test_refuse_links_names_the_fix(projects: Path, home: Path) -> None:
    (projects / ".roam").symlink_to(home)
    with pytest.raises(LinkRefused) as caught:
        refuse_links(projects, projects / ".roam" / "leases" / SID / "D.json")
    assert "roam verify" in caught.value.hint


def test_find_links_reports_links_without_following_them(
    projects: Path, project: Path, home: Path
) -> None:
    _plant_linked_session(project, home)
    (projects / "-elsewhere").symlink_to(home)
    found = {p.relative_to(projects).as_posix() for p in find_links(projects)}
    assert found == {"-elsewhere", f"-work-p/{SID}.jsonl"}


# -- readers ------------------------------------------------------------------------------


def test_a_symlinked_session_is_not_listed_as_a_session(project: Path, home: Path) -> None:
    (project / f"{SID}.jsonl").symlink_to(home / "history.jsonl")
    assert list_all_sessions(project.parent) == ()


def test_a_symlinked_project_folder_has_no_sessions(projects: Path, home: Path) -> None:
    elsewhere = home.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / f"{SID}.jsonl").write_bytes(_secret_row())
    (elsewhere / COPY).write_bytes(_secret_row())
    (projects / "-linked").symlink_to(elsewhere)
    assert find_session_files(projects / "-linked", SID).conflict_copies == ()
    assert list_all_sessions(projects) == ()


def test_a_symlinked_copy_in_the_sidecar_folder_is_not_a_conflict_copy(
    project: Path, home: Path
) -> None:
    sub = project / SID / "subagents"
    sub.mkdir(parents=True)
    (sub / "agent-a.sync-conflict-20261125-120000-BBBBBBB.jsonl").symlink_to(home / "history.jsonl")
    assert find_session_files(project, SID).conflict_copies == ()


def test_ls_summaries_never_read_through_a_link(project: Path, home: Path) -> None:
    _plant_linked_session(project, home)
    listed = list_summaries(home, PathMap())
    assert SECRET not in repr(listed).encode()


def test_store_read_bytes_refuses_a_link_in_one_sentence(project: Path, home: Path) -> None:
    _plant_linked_session(project, home)
    with pytest.raises(LinkRefused) as caught:
        read_bytes(project / f"{SID}.jsonl")
    assert "symbolic link" in caught.value.message


def test_cf_never_indexes_the_target_of_a_symlinked_session(
    projects: Path, project: Path, home: Path, tmp_path: Path
) -> None:
    _plant_linked_session(project, home)
    cache = tmp_path / "cache"
    cache.mkdir()
    result = search_sessions(["TOP"], projects_root=projects, cache_dir=cache)
    assert result.matches == ()
    assert SECRET not in _everything_under(cache)


def test_pick_and_titles_ignore_a_symlinked_sidecar_title(project: Path, home: Path) -> None:
    (project / f"{SID}.jsonl").write_bytes(_row("11111111-1111-4111-8111-111111111111", None, "x"))
    (project / SID).mkdir()
    secret_title = home / "title.json"
    secret_title.write_text(json.dumps({"customTitle": SECRET.decode()}))
    (project / SID / "custom-title.json").symlink_to(secret_title)
    assert custom_title(project / f"{SID}.jsonl") is None


def test_pick_never_resumes_a_symlinked_session(project: Path, home: Path) -> None:
    (project / f"{SID}.jsonl").symlink_to(home / "history.jsonl")
    (project / f"{OTHER}.jsonl").write_bytes(
        _row("11111111-1111-4111-8111-111111111111", None, "x")
    )
    assert pick_session(project, project.parent).session_id == OTHER


def test_session_cwd_is_not_read_through_a_link(project: Path, home: Path) -> None:
    (project / f"{SID}.jsonl").symlink_to(home / "history.jsonl")
    assert session_cwd(project / f"{SID}.jsonl") is None


def test_bounded_lines_of_a_link_are_none(project: Path, home: Path) -> None:
    (project / f"{SID}.jsonl").symlink_to(home / "history.jsonl")
    assert list(iter_file_lines(project / f"{SID}.jsonl")) == []


def test_journal_never_copies_a_linked_session_file(project: Path, home: Path) -> None:
    link = project / f"{SID}.jsonl"
    link.symlink_to(home / "history.jsonl")
    journal = Journal(node="a")
    journal.record(link, phase="launch", session_id=SID)
    journal.record(link, phase="release", session_id=SID)
    assert journal.records(SID) == []


def test_release_stamp_of_a_linked_session_is_absent(project: Path, home: Path) -> None:
    link = project / f"{SID}.jsonl"
    link.symlink_to(home / "history.jsonl")
    assert file_stamp(link) is None


def test_a_symlinked_node_file_is_reported_not_read(projects: Path, home: Path) -> None:
    device = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
    (projects / ".roam" / "nodes").mkdir(parents=True)
    (projects / ".roam" / "nodes" / f"{device}.json").symlink_to(home / "history.jsonl")
    node = read_nodes(projects)[device]
    assert node.info is None
    assert "symbolic link" in node.error


def test_a_symlinked_tombstone_deletes_nothing(projects: Path, home: Path) -> None:
    (projects / TOMBSTONES_DIR).mkdir(parents=True)
    real = home / "stone.json"
    real.write_text(json.dumps({"schema": "roam.tombstone/1", "session": SID}))
    (projects / TOMBSTONES_DIR / f"{SID}.json").symlink_to(real)
    assert tombstoned_sessions(projects) == frozenset()
    assert not is_tombstoned(projects, SID)
    assert "symbolic link" in invalid_tombstones(projects)[f"{SID}.json"]


def test_verify_gathers_every_link_and_ignored_state_file(
    projects: Path, project: Path, home: Path
) -> None:
    _plant_linked_session(project, home)
    (projects / TOMBSTONES_DIR).mkdir(parents=True)
    (projects / TOMBSTONES_DIR / f"{OTHER}.json").write_text("[[[")
    links, ignored = gather_synced_data(projects)
    assert links == (f"-work-p/{SID}.jsonl",)
    assert ignored == (f".roam/tombstones/{OTHER}.json (it is not JSON)",)


def _transport(projects: Path) -> SyncthingTransport:
    """The claim-file half of a transport, without a Syncthing behind it."""

    class _Client:
        def my_id(self) -> str:
            return "AAAAAAA"

    return SyncthingTransport(_Client(), projects, folder_id="f")  # type: ignore[arg-type]


# -- writers ------------------------------------------------------------------------------


def test_merge_refuses_a_symlinked_session_and_writes_nothing(
    project: Path, home: Path, projects: Path
) -> None:
    _plant_linked_session(project, home)
    before = (home / "history.jsonl").read_bytes()
    with pytest.raises(LinkRefused):
        merge_session(find_session_files(project, SID))
    assert (project / f"{SID}.jsonl").is_symlink()
    assert (project / COPY).exists()
    assert (home / "history.jsonl").read_bytes() == before
    assert SECRET not in _everything_under(projects, backups_root().parent)


def test_merge_refuses_a_dangling_symlinked_session(project: Path, home: Path) -> None:
    (project / f"{SID}.jsonl").symlink_to(home / "gone.jsonl")
    (project / COPY).write_bytes(_row("11111111-1111-4111-8111-111111111111", None, "hello"))
    with pytest.raises(LinkRefused):
        merge_session(find_session_files(project, SID))
    assert not (home / "gone.jsonl").exists()


def test_a_claim_is_never_written_through_a_symlinked_lease_folder(
    projects: Path, home: Path
) -> None:
    outside = home / "outside"
    outside.mkdir()
    (projects / ".roam" / "leases").mkdir(parents=True)
    (projects / ".roam" / "leases" / SID).symlink_to(outside)
    backend = _transport(projects)
    claim = Claim(SID, "AAAAAAA", 1, ClaimState.CLAIMING, 60.0, 1)
    with pytest.raises(LinkRefused):
        backend.write_claim(claim)
    assert list(outside.iterdir()) == []
    assert backend.read_claims(SID) == {}


def test_a_dangling_lease_link_is_a_refusal_not_a_traceback(projects: Path, home: Path) -> None:
    (projects / ".roam" / "leases").mkdir(parents=True)
    (projects / ".roam" / "leases" / SID).symlink_to(home / "nowhere")
    backend = _transport(projects)
    with pytest.raises(LinkRefused):
        backend.write_claim(Claim(SID, "AAAAAAA", 1, ClaimState.CLAIMING, 60.0, 1))
    assert not (home / "nowhere").exists()


def test_undo_never_restores_through_a_sidecar_folder_replaced_by_a_link(
    projects: Path, project: Path
) -> None:
    from session_roam.engine.conflicts.merging import undo_session

    sub = project / SID / "subagents"
    sub.mkdir(parents=True)
    (project / f"{SID}.jsonl").write_bytes(_row("11111111-1111-4111-8111-111111111111", None, "x"))
    (sub / "agent-a.jsonl").write_bytes(_row("22222222-2222-4222-8222-222222222222", None, "a"))
    (sub / "agent-a.sync-conflict-20261125-120000-BBBBBBB.jsonl").write_bytes(
        _row("33333333-3333-4333-8333-333333333333", None, "b")
    )
    merge_session(find_session_files(project, SID))
    other = projects / "-other"
    (other / "subagents").mkdir(parents=True)
    for path in sorted(sub.iterdir()):
        path.unlink()
    sub.rmdir()
    (project / SID).rmdir()
    (project / SID).symlink_to(other)
    with pytest.raises(LinkRefused):
        undo_session(SID, projects, force=True)
    assert list((other / "subagents").iterdir()) == []


def test_restore_never_creates_or_writes_through_a_project_folder_linked_inside(
    projects: Path, project: Path, home: Path, tmp_path: Path
) -> None:
    from session_roam.engine.deletions.archive import refresh_archive, restore_file

    archive = tmp_path / "archive"
    (project / f"{SID}.jsonl").write_bytes(_row("11111111-1111-4111-8111-111111111111", None, "x"))
    refresh_archive(projects, archive)
    (project / f"{SID}.jsonl").unlink()
    project.rmdir()
    elsewhere = projects / "-another-project"
    elsewhere.mkdir()
    project.symlink_to(elsewhere)
    with pytest.raises(LinkRefused):
        restore_file(projects, f"-work-p/{SID}.jsonl", archive)
    assert list(elsewhere.iterdir()) == []


def test_a_symlinked_conflict_copy_beside_a_session_is_not_a_copy(
    project: Path, home: Path
) -> None:
    (project / f"{SID}.jsonl").write_bytes(_row("11111111-1111-4111-8111-111111111111", None, "x"))
    (project / COPY).symlink_to(home / "history.jsonl")
    assert find_session_files(project, SID).conflict_copies == ()


def test_the_archive_never_hard_links_a_symlinks_target(
    projects: Path, project: Path, home: Path, tmp_path: Path
) -> None:
    from session_roam.engine.deletions.archive import refresh_archive

    archive = tmp_path / "archive"
    _plant_linked_session(project, home)
    refresh_archive(projects, archive)
    assert SECRET not in _everything_under(archive)
    assert not (archive / "-work-p" / f"{SID}.jsonl").exists()


def test_an_oversized_title_sidecar_is_not_read(project: Path) -> None:
    (project / f"{SID}.jsonl").write_bytes(_row("11111111-1111-4111-8111-111111111111", None, "x"))
    (project / SID).mkdir()
    big = {"customTitle": "t", "pad": "x" * (1024 * 1024)}
    (project / SID / "custom-title.json").write_text(json.dumps(big))
    assert custom_title(project / f"{SID}.jsonl") is None


def test_roam_rm_never_writes_its_tombstone_through_a_link(
    projects: Path, project: Path, home: Path
) -> None:
    from session_roam.engine.deletions.tombstones import remove_session

    (project / f"{SID}.jsonl").write_bytes(_row("11111111-1111-4111-8111-111111111111", None, "x"))
    (projects / ".roam").mkdir()
    outside = home / "outside"
    outside.mkdir()
    (projects / TOMBSTONES_DIR).symlink_to(outside)
    with pytest.raises(LinkRefused):
        remove_session(projects, SID, device_id="AAAAAAA")
    assert list(outside.iterdir()) == []
    assert (project / f"{SID}.jsonl").exists()


def test_a_node_file_is_never_published_through_a_link(projects: Path, home: Path) -> None:
    from session_roam.engine.syncthing.nodeinfo import NODES_DIR, publish

    outside = home / "outside"
    outside.mkdir()
    (projects / ".roam").mkdir()
    (projects / NODES_DIR).symlink_to(outside)
    with pytest.raises(LinkRefused):
        publish(projects, device_id="AAAAAAA", name="a", syncthing_version="v1", claude="2")
    assert list(outside.iterdir()) == []
