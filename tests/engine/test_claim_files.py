"""Reading claim files while Syncthing swaps one in: no live claim is ever missed.

A receiver writes ``.syncthing.<name>.tmp``, removes the old file, then renames the temp into
place. These tests play that sequence at the moments a reader is most exposed to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.peer_schema import read_state_bytes
from session_roam.engine.lease.claim_files import read_claim_files

if TYPE_CHECKING:
    from pathlib import Path

MODULE = "session_roam.engine.lease.claim_files"
SESSION = "3c169df1-f7a1-4882-adcc-468b33084d8b"
OLD = b'{"state": "claiming"}'
NEW = b'{"state": "held"}'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / ".roam" / "leases" / SESSION
    path.mkdir(parents=True)
    (path / "A.json").write_bytes(OLD)
    (path / "B.json").write_bytes(b'{"state": "released"}')
    return path


def _temp(folder: Path, device: str) -> Path:
    return folder / f".syncthing.{device}.json.tmp"


def _finish_swap_on_sleep(monkeypatch: pytest.MonkeyPatch, folder: Path, device: str) -> None:
    """The receiver renames its temp into place while the reader waits to look again."""

    def sleep(_seconds: float) -> None:
        temp = _temp(folder, device)
        if temp.exists():
            temp.rename(folder / f"{device}.json")

    monkeypatch.setattr(f"{MODULE}.time.sleep", sleep)


def _forbid_a_second_look(monkeypatch: pytest.MonkeyPatch, why: str) -> None:
    """The reader fails the test if it pauses to list the folder again."""

    def no_sleep(_seconds: float) -> None:
        raise AssertionError(why)

    monkeypatch.setattr(f"{MODULE}.time.sleep", no_sleep)


def test_a_claim_removed_between_the_listing_and_its_read_is_read_again(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    swapped = False

    def read(path: Path, root: Path) -> bytes:
        nonlocal swapped
        if path.name == "A.json" and not swapped:
            # After the listing, before the open: the temp appears and the old file goes.
            swapped = True
            _temp(folder, "A").write_bytes(NEW)
            path.unlink()
        return read_state_bytes(path, root)

    monkeypatch.setattr(f"{MODULE}.read_state_bytes", read)
    _finish_swap_on_sleep(monkeypatch, folder, "A")
    assert read_claim_files(folder.parents[2], folder)["A"] == NEW


def test_a_listing_with_a_temp_file_and_no_claim_waits_for_the_claim(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _temp(folder, "A").write_bytes(NEW)
    (folder / "A.json").unlink()
    _finish_swap_on_sleep(monkeypatch, folder, "A")
    assert read_claim_files(folder.parents[2], folder)["A"] == NEW


def test_a_claim_still_missing_at_the_deadline_reads_as_unreadable(folder: Path) -> None:
    _temp(folder, "A").write_bytes(NEW)
    (folder / "A.json").unlink()
    found = read_claim_files(folder.parents[2], folder, swap_wait_s=0.02)
    assert found["A"] == b""


def test_a_settled_folder_is_read_in_one_listing(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _forbid_a_second_look(monkeypatch, "a settled folder needs no second look")
    assert read_claim_files(folder.parents[2], folder) == {
        "A": OLD,
        "B": b'{"state": "released"}',
    }


def test_conflict_copies_and_other_files_are_not_claims(folder: Path) -> None:
    (folder / "A.sync-conflict-20261207-010203-ABCDEFG.json").write_bytes(NEW)
    (folder / ".hidden.json").write_bytes(NEW)
    (folder / "notes.txt").write_bytes(NEW)
    assert set(read_claim_files(folder.parents[2], folder)) == {"A", "B"}


def test_a_missing_claim_folder_has_no_claims(tmp_path: Path) -> None:
    assert read_claim_files(tmp_path, tmp_path / ".roam" / "leases" / SESSION) == {}


def test_a_conflict_copy_on_its_way_keeps_no_reader_waiting(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _forbid_a_second_look(monkeypatch, "a conflict copy's temp is not a claim being swapped in")
    (folder / ".syncthing.C.sync-conflict-20261207-010203-ABCDEFG.json.tmp").write_bytes(NEW)
    assert set(read_claim_files(folder.parents[2], folder)) == {"A", "B"}
