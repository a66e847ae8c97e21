"""A re-run of `roam setup` respects what the person did to the `roam watch` service: removed
with `roam watch uninstall`, it stays removed; its file edited by hand, it is left as it is.
`roam watch install` and `roam setup --watch` (``force``) override both. Against the stand-in
systemctl (tests/support/service_manager.py): never the developer's own service manager."""

from __future__ import annotations

import stat
import sys
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core import xdg
from session_roam.engine.setup.uninstall import UninstallRequest, run_uninstall
from session_roam.engine.setup.watch_record import WATCH_RECORD
from session_roam.engine.setup.watch_service import (
    SYSTEMD_UNIT,
    install_service,
    service_file,
    uninstall_service,
)
from session_roam.engine.setup.watch_setup import ensure_watch

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.setup.watch_setup import WatchSetup
    from tests.support.service_manager import FakeSystemctl

pytest_plugins = ["tests.support.service_manager"]
pytestmark = pytest.mark.skipif(sys.platform == "darwin", reason="systemd is Linux's")

START = f"--user enable --now {SYSTEMD_UNIT}"
EDITED = "[Service]\nExecStart=/usr/bin/env roam watch\nNice=10\n"


def _setup(home: Path, *, force: bool = False) -> WatchSetup:
    return ensure_watch(home, home / ".claude", force=force)


def _unit(home: Path) -> Path:
    return service_file("systemd", home)


@pytest.fixture
def removed(clean_environ: Path, fake_systemctl: FakeSystemctl) -> Path:
    """A home whose watch service setup installed, then `roam watch uninstall` removed."""
    _setup(clean_environ)
    uninstall_service(clean_environ, remember=True)
    return clean_environ


@pytest.fixture
def edited(clean_environ: Path, fake_systemctl: FakeSystemctl) -> Path:
    """A home whose watch unit setup wrote, then the person edited."""
    _setup(clean_environ)
    _unit(clean_environ).write_text(EDITED)
    return clean_environ


@pytest.mark.parametrize("how", ["removed", "deleted"])  # watch uninstall, or by hand
def test_setup_leaves_a_watch_service_the_person_removed_removed(
    how: str, request: pytest.FixtureRequest, fake_systemctl: FakeSystemctl
) -> None:
    home: Path = request.getfixturevalue(how)
    calls = len(fake_systemctl.calls())
    done = _setup(home)
    assert (done.state, done.path) == ("removed", None)
    assert not _unit(home).exists()
    assert START not in fake_systemctl.calls()[calls:]


def test_setup_says_a_removed_watch_service_was_removed_and_how_to_bring_it_back(
    removed: Path,
) -> None:
    said = _setup(removed).describe()
    assert "not installed: you removed it; `roam watch install` brings it back" in said


def test_a_removed_watch_service_is_no_warning(removed: Path) -> None:
    assert _setup(removed).warning is None


def test_setup_forced_installs_a_watch_service_removed_before(
    removed: Path, fake_systemctl: FakeSystemctl
) -> None:
    assert _setup(removed, force=True).state == "installed"
    assert _unit(removed).is_file()


def test_watch_install_after_a_removal_lets_setup_keep_the_service_again(removed: Path) -> None:
    install_service(removed)
    assert _setup(removed).state == "already installed"


def test_a_removal_by_roam_uninstall_is_not_remembered_as_a_choice(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    _setup(clean_environ)
    uninstall_service(clean_environ)  # what `roam uninstall` does: all of roam goes
    assert _setup(clean_environ).state == "installed"


def test_roam_uninstall_after_the_unit_was_deleted_by_hand_lets_setup_install_it_again(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    _setup(clean_environ)
    _unit(clean_environ).unlink()
    run_uninstall(UninstallRequest(user_home=clean_environ))  # a fresh start, whatever came before
    assert _setup(clean_environ).state == "installed"


def test_setup_leaves_a_watch_unit_edited_by_hand_as_it_is(edited: Path) -> None:
    done = _setup(edited)
    assert (done.state, done.path) == ("edited", str(_unit(edited)))
    assert _unit(edited).read_text() == EDITED


def test_setup_says_it_left_an_edited_watch_unit_and_how_to_replace_it(edited: Path) -> None:
    said = _setup(edited).describe()
    assert f"left as you edited it ({_unit(edited)}); `roam watch install` writes" in said


def test_watch_install_rewrites_a_watch_unit_edited_by_hand(edited: Path) -> None:
    assert install_service(edited).changed
    assert _unit(edited).read_text() != EDITED
    assert _setup(edited).state == "already installed"


def test_setup_forced_rewrites_a_watch_unit_edited_by_hand(edited: Path) -> None:
    assert _setup(edited, force=True).state == "installed"
    assert _unit(edited).read_text() != EDITED


def test_setup_rewrites_a_watch_unit_roam_wrote_for_another_claude_dir(
    clean_environ: Path, fake_systemctl: FakeSystemctl, tmp_path: Path
) -> None:
    ensure_watch(clean_environ, tmp_path / "claude")
    assert _setup(clean_environ).state == "installed"  # roam's own older file: not an edit
    assert "--claude-dir" not in _unit(clean_environ).read_text()


def test_setup_rewrites_a_watch_unit_written_before_roam_kept_a_record(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    _unit(clean_environ).parent.mkdir(parents=True)
    _unit(clean_environ).write_text(EDITED)  # no record: counted as roam's, as before
    assert _setup(clean_environ).state == "installed"
    assert _unit(clean_environ).read_text() != EDITED


def test_setup_reads_a_damaged_watch_record_as_none(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    (xdg.state_dir() / WATCH_RECORD).write_text("{not json")
    assert _setup(clean_environ).state == "installed"


def test_the_watch_record_is_private(clean_environ: Path, fake_systemctl: FakeSystemctl) -> None:
    _setup(clean_environ)
    assert stat.S_IMODE((xdg.state_dir() / WATCH_RECORD).stat().st_mode) == 0o600


def test_a_removed_watch_service_whose_unit_is_back_is_not_reported_removed(
    removed: Path, fake_systemctl: FakeSystemctl
) -> None:
    _unit(removed).parent.mkdir(parents=True, exist_ok=True)
    _unit(removed).write_text(EDITED)  # put back by hand (dotfiles): setup judges the file
    done = _setup(removed)
    assert (done.state, done.path) == ("edited", str(_unit(removed)))


def test_watch_uninstall_that_cannot_remove_the_unit_records_no_removal(
    clean_environ: Path, fake_systemctl: FakeSystemctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(clean_environ)

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr("pathlib.Path.unlink", refuse)
    with pytest.raises(PermissionError):
        uninstall_service(clean_environ, remember=True)
    monkeypatch.undo()
    assert _setup(clean_environ).state != "removed"


@pytest.fixture
def deleted(clean_environ: Path, fake_systemctl: FakeSystemctl) -> Path:
    """A home whose watch unit setup installed, then the person deleted by hand."""
    _setup(clean_environ)
    _unit(clean_environ).unlink()
    return clean_environ


def test_setup_says_a_watch_unit_was_deleted_and_how_to_bring_it_back(deleted: Path) -> None:
    said = _setup(deleted).describe()
    assert "not installed: its file was deleted, not by roam; `roam watch install` brings" in said


def test_a_watch_unit_deleted_by_hand_stays_removed_on_every_later_setup(deleted: Path) -> None:
    _setup(deleted)
    assert _setup(deleted).state == "removed"


def test_setup_forced_installs_a_watch_unit_deleted_by_hand(deleted: Path) -> None:
    assert _setup(deleted, force=True).state == "installed"
    assert _unit(deleted).is_file()


def test_watch_install_after_a_deletion_by_hand_lets_setup_keep_the_service(
    deleted: Path,
) -> None:
    install_service(deleted)
    assert _setup(deleted).state == "already installed"


def test_a_watch_unit_roam_removed_after_its_start_failed_is_installed_by_the_next_setup(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    fake_systemctl.fail("enable")
    assert _setup(clean_environ).state == "unavailable"
    assert not _unit(clean_environ).exists()
    fake_systemctl.fail()
    assert _setup(clean_environ).state == "installed"
