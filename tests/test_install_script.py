"""`./scripts/install`, run as a new user would: a scratch HOME, a PATH without ~/.local/bin.

The tests that install from PyPI (the network) are marked e2e; about a minute per run on 2
cores. The refusals run offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Final

import pytest

_CLONE: Final = Path(__file__).resolve().parents[1]
_SYSTEM_PATH: Final = "/usr/local/bin:/usr/bin:/bin"


def _install(home: Path, *args: str, path: str = _SYSTEM_PATH) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": path, "SHELL": "/bin/bash", "TERM": "dumb"}
    if "ROAM_SYNCTHING_BIN" in os.environ:
        env["ROAM_SYNCTHING_BIN"] = os.environ["ROAM_SYNCTHING_BIN"]
    return subprocess.run(
        [str(_CLONE / "scripts" / "install"), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("newcomer")
    done = _install(home, "--method", "venv")
    assert done.returncode == 0, done.stdout + done.stderr
    return home, done.stdout


@pytest.mark.e2e
def test_install_puts_a_working_roam_in_local_bin(installed: tuple[Path, str]) -> None:
    home, _ = installed
    roam = home / ".local" / "bin" / "roam"
    version = subprocess.run([roam, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("roam ")


@pytest.mark.e2e
def test_install_keeps_roams_virtualenv_under_xdg_data_home(installed: tuple[Path, str]) -> None:
    home, _ = installed
    link = home / ".local" / "bin" / "roam"
    assert link.resolve().is_relative_to(home / ".local" / "share" / "session-roam" / "venv")


@pytest.mark.e2e
def test_install_prints_the_exact_line_that_puts_local_bin_on_path(
    installed: tuple[Path, str],
) -> None:
    _, output = installed
    assert "is not on your PATH" in output
    assert """echo 'export PATH="$HOME/.local/bin:$PATH"' >> ~/.bashrc""" in output


@pytest.mark.e2e
def test_install_ends_with_what_is_missing_and_the_next_command(
    installed: tuple[Path, str],
) -> None:
    _, output = installed
    assert "Next:" in output


@pytest.mark.e2e
def test_install_run_again_upgrades_in_place(installed: tuple[Path, str]) -> None:
    home, _ = installed
    again = _install(home, "--method", "venv")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "creating a virtualenv" not in again.stdout
    assert (home / ".local" / "bin" / "roam").exists()


def test_install_refuses_an_unknown_option_with_exit_2(tmp_path: Path) -> None:
    assert _install(tmp_path, "--bogus").returncode == 2


def test_install_without_python_3_11_says_so_and_changes_nothing(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("bash", "dirname", "uname", "id", "sed", "cat", "env"):
        found = shutil.which(tool)
        assert found is not None
        (tools / tool).symlink_to(found)
    old = tools / "python3"
    old.write_text("#!/bin/sh\nexit 1\n")  # a python3 that is not 3.11 or newer
    old.chmod(0o755)
    home = tmp_path / "new-user"
    home.mkdir()
    done = _install(home, "--method", "venv", path=str(tools))
    assert done.returncode == 3
    assert "roam needs Python 3.11 or newer" in done.stderr
    assert list(home.iterdir()) == []
