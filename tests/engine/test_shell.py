"""The shortcuts block in rc files: idempotent, removed cleanly, every name calls roam."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.setup.shell import (
    BEGIN_MARKER,
    SHORTCUTS,
    detect_shell,
    install,
    rc_file,
    render_block,
    uninstall,
)
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

_USER_RC = "export EDITOR=vim\nalias ll='ls -l'\n"


def test_install_appends_the_block_after_the_users_lines(tmp_path: Path) -> None:
    (tmp_path / ".bashrc").write_text(_USER_RC, encoding="utf-8")
    change = install("bash", tmp_path)
    text = (tmp_path / ".bashrc").read_text(encoding="utf-8")
    assert change.changed
    assert text.startswith(_USER_RC)
    assert BEGIN_MARKER in text


def test_install_twice_leaves_the_file_byte_identical(tmp_path: Path) -> None:
    (tmp_path / ".bashrc").write_text(_USER_RC, encoding="utf-8")
    install("bash", tmp_path)
    first = (tmp_path / ".bashrc").read_bytes()
    change = install("bash", tmp_path)
    assert not change.changed
    assert (tmp_path / ".bashrc").read_bytes() == first


def test_uninstall_restores_the_file_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / ".zshrc").write_text(_USER_RC, encoding="utf-8")
    install("zsh", tmp_path, "#compdef roam\n")
    uninstall("zsh", tmp_path)
    assert (tmp_path / ".zshrc").read_text(encoding="utf-8") == _USER_RC


def test_uninstall_without_a_block_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / ".bashrc").write_text(_USER_RC, encoding="utf-8")
    assert not uninstall("bash", tmp_path).changed


def test_install_uses_bashrc_even_when_bash_aliases_exists(tmp_path: Path) -> None:
    # ~/.bashrc may define an old alias after sourcing ~/.bash_aliases: the end of ~/.bashrc
    # is where roam's functions run last (tests/cli/test_shell_habits.py, in a real bash)
    (tmp_path / ".bash_aliases").write_text("", encoding="utf-8")
    (tmp_path / ".bashrc").write_text(_USER_RC, encoding="utf-8")
    assert install("bash", tmp_path).path == tmp_path / ".bashrc"


def test_fish_gets_its_own_file_that_uninstall_removes(tmp_path: Path) -> None:
    path = install("fish", tmp_path).path
    assert path == rc_file("fish", tmp_path)
    uninstall("fish", tmp_path)
    assert not path.exists()


def test_render_block_routes_every_shortcut_through_roam() -> None:
    block = render_block("bash")
    for short in SHORTCUTS:
        assert f'{short}() {{ roam {short} "$@"; }}' in block
    assert "claude" not in block


def test_detect_shell_refuses_an_unknown_shell() -> None:
    with pytest.raises(InvalidInput, match="tcsh"):
        detect_shell("tcsh")


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_installed_bash_block_defines_functions_over_old_aliases(tmp_path: Path) -> None:
    rc = tmp_path / ".bashrc"
    rc.write_text("alias cs='cr --browse'\n", encoding="utf-8")
    install("bash", tmp_path)
    script = f"shopt -s expand_aliases; source {rc}; type -t cs; type -t cfork"
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=False, timeout=10
    )
    assert done.stdout.split() == ["function", "function"], done.stderr
