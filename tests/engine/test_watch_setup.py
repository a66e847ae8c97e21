"""`roam setup`'s watch step (``ensure_watch``) against a stand-in systemctl: it installs and
starts the service once, says so again without touching it, and leaves nothing behind where the
service manager cannot run it. No test here reaches a real service manager."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.setup.watch_service import SYSTEMD_UNIT, service_file
from session_roam.engine.setup.watch_setup import ensure_watch, watch_skipped

if TYPE_CHECKING:
    from tests.support.service_manager import FakeSystemctl

pytest_plugins = ["tests.support.service_manager"]
pytestmark = pytest.mark.skipif(sys.platform == "darwin", reason="systemd is Linux's")

START = f"--user enable --now {SYSTEMD_UNIT}"


def _unit(home: Path) -> Path:
    return service_file("systemd", home)


def test_ensure_watch_writes_the_unit_and_asks_systemd_to_start_it(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    done = ensure_watch(clean_environ, clean_environ / ".claude")
    assert (done.state, done.path) == ("installed", str(_unit(clean_environ)))
    assert _unit(clean_environ).stat().st_mode & 0o777 == 0o600
    assert START in fake_systemctl.calls()
    assert done.warning is None


def test_ensure_watch_puts_the_unit_under_xdg_config_home(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    ensure_watch(clean_environ, clean_environ / ".claude")
    assert (clean_environ / ".config" / "systemd" / "user" / SYSTEMD_UNIT).is_file()


def test_ensure_watch_twice_says_already_installed_and_starts_nothing(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    ensure_watch(clean_environ, clean_environ / ".claude")
    calls = len(fake_systemctl.calls())
    again = ensure_watch(clean_environ, clean_environ / ".claude")
    assert again.state == "already installed"
    assert START not in fake_systemctl.calls()[calls:]


def test_ensure_watch_starts_a_stopped_service_again(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    ensure_watch(clean_environ, clean_environ / ".claude")
    fake_systemctl.stop()
    assert ensure_watch(clean_environ, clean_environ / ".claude").state == "installed"
    assert fake_systemctl.calls().count(START) == 2


def test_ensure_watch_names_a_claude_dir_other_than_the_default(
    clean_environ: Path, fake_systemctl: FakeSystemctl, tmp_path: Path
) -> None:
    ensure_watch(clean_environ, tmp_path / "claude")
    assert f"--claude-dir {tmp_path / 'claude'} watch" in _unit(clean_environ).read_text()


def test_ensure_watch_leaves_the_default_claude_dir_unnamed(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    ensure_watch(clean_environ, clean_environ / ".claude")
    assert "--claude-dir" not in _unit(clean_environ).read_text()


def test_ensure_watch_without_a_user_instance_writes_nothing_and_warns(
    clean_environ: Path,
) -> None:
    # clean_environ's systemctl answers as in a container: no user bus
    done = ensure_watch(clean_environ, clean_environ / ".claude")
    assert (done.state, done.path) == ("unavailable", None)
    assert not _unit(clean_environ).exists()
    assert done.warning is not None
    assert "roam watch is not running" in done.warning
    assert "`roam watch` in a terminal" in done.warning


def test_ensure_watch_whose_start_fails_removes_the_unit_it_wrote(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    fake_systemctl.fail("enable")
    done = ensure_watch(clean_environ, clean_environ / ".claude")
    assert done.state == "unavailable"
    assert "failed" in done.detail
    assert not _unit(clean_environ).exists()


def test_ensure_watch_under_roam_no_systemd_never_calls_systemctl(
    clean_environ: Path, fake_systemctl: FakeSystemctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROAM_NO_SYSTEMD", "1")
    done = ensure_watch(clean_environ, clean_environ / ".claude")
    assert (done.state, done.detail) == ("unavailable", "ROAM_NO_SYSTEMD is set")
    assert fake_systemctl.calls() == []
    assert not _unit(clean_environ).exists()


def test_watch_skipped_says_how_to_add_it_later() -> None:
    assert "roam watch install" in watch_skipped().describe()


def test_no_test_reaches_the_developers_service_manager(clean_environ: Path) -> None:
    for tool in ("systemctl", "launchctl"):
        found = shutil.which(tool)
        assert found is not None
        assert Path(found).parent == clean_environ.parent / "no-service-manager"


def test_ensure_watch_restarts_a_running_service_whose_file_it_changed(
    clean_environ: Path, fake_systemctl: FakeSystemctl, tmp_path: Path
) -> None:
    ensure_watch(clean_environ, clean_environ / ".claude")
    done = ensure_watch(clean_environ, tmp_path / "claude")  # the unit now names this one
    assert done.state == "installed"
    assert fake_systemctl.calls()[-1] == f"--user restart {SYSTEMD_UNIT}"


def test_ensure_watch_does_not_restart_a_service_it_left_unchanged(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    ensure_watch(clean_environ, clean_environ / ".claude")
    fake_systemctl.stop()
    ensure_watch(clean_environ, clean_environ / ".claude")
    assert not [call for call in fake_systemctl.calls() if "restart" in call]


def test_ensure_watch_reloads_systemd_before_restarting_a_changed_running_unit(
    clean_environ: Path, fake_systemctl: FakeSystemctl, tmp_path: Path
) -> None:
    ensure_watch(clean_environ, clean_environ / ".claude")
    calls = len(fake_systemctl.calls())
    ensure_watch(clean_environ, tmp_path / "claude")
    after = fake_systemctl.calls()[calls:]
    assert after.index("--user daemon-reload") < after.index(f"--user restart {SYSTEMD_UNIT}")


def test_ensure_watch_names_a_relative_claude_dir_by_its_absolute_path(
    clean_environ: Path, fake_systemctl: FakeSystemctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(clean_environ)
    ensure_watch(clean_environ, Path("work") / "claude")
    assert (
        f"--claude-dir {clean_environ / 'work' / 'claude'} watch"
        in _unit(clean_environ).read_text()
    )


def test_ensure_watch_that_cannot_write_its_unit_warns_instead_of_failing_setup(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    _unit(clean_environ).parent.parent.mkdir(parents=True, exist_ok=True)
    _unit(clean_environ).parent.write_text("a file where the unit folder goes")
    done = ensure_watch(clean_environ, clean_environ / ".claude")
    assert (done.state, done.path) == ("unavailable", None)
    assert done.warning is not None


def test_ensure_watch_refuses_a_claude_dir_with_a_control_character_with_a_warning(
    clean_environ: Path, fake_systemctl: FakeSystemctl, tmp_path: Path
) -> None:
    done = ensure_watch(clean_environ, tmp_path / "x\nExecStartPre=/bin/true")
    assert done.state == "unavailable"
    assert "control character" in done.detail
    assert not _unit(clean_environ).exists()


def test_ensure_watch_whose_start_fails_disables_what_it_enabled(
    clean_environ: Path, fake_systemctl: FakeSystemctl
) -> None:
    fake_systemctl.fail("restart", "--now")  # enable --now fails after enabling, as systemd may
    ensure_watch(clean_environ, clean_environ / ".claude")
    assert any(call.startswith("--user disable") for call in fake_systemctl.calls())
