"""The bash version's shortcuts and `roam shell install`, checked in a real shell: which
command does `cr` run in a new interactive shell of a scratch HOME?

zsh runs when it is on PATH or ROAM_TEST_ZSH names one (`apt-get download zsh zsh-common` and
`dpkg -x` both into a folder: ROAM_TEST_ZSH=<folder>/bin/zsh); otherwise its tests skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app

_DEBIAN_BASHRC = """# ~/.bashrc
case $- in *i*) ;; *) return;; esac
if [ -f ~/.bash_aliases ]; then
    . ~/.bash_aliases
fi
alias cr='sleep 2 && claude -c'
"""
_OLD_ALIASES = """alias cs='claude --resume'
cfork() {
    claude --resume "$1" --fork-session
}
alias ll='ls -l'
"""


#: read once, before clean_environ takes ROAM_* variables away
_ZSH = os.environ.get("ROAM_TEST_ZSH") or shutil.which("zsh")


def _resolve(shell: str, home: Path, name: str = "cr") -> str:
    """What ``type NAME`` says in a new interactive ``shell`` with HOME=home."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb"}
    binary = _ZSH if shell == "zsh" else shutil.which("bash")
    assert binary is not None
    if shell == "zsh":
        root = Path(binary).resolve().parent.parent
        functions = root / "usr" / "share" / "zsh" / "functions"
        if functions.is_dir():  # an extracted .deb: point zsh at its own function library
            env["FPATH"] = ":".join(str(d) for d in functions.rglob("*") if d.is_dir())
    result = subprocess.run(
        [binary, "-i", "-c", f"type {name}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return result.stdout


def _install(shell: str, *extra: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["shell", "install", "--shell", shell, "--json", *extra])
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


@pytest.fixture
def debian_home(clean_environ: Path) -> Path:
    (clean_environ / ".bashrc").write_text(_DEBIAN_BASHRC, encoding="utf-8")
    (clean_environ / ".bash_aliases").write_text(_OLD_ALIASES, encoding="utf-8")
    return clean_environ


def test_the_old_alias_wins_before_install(debian_home: Path) -> None:
    assert "aliased to `sleep 2 && claude -c'" in _resolve("bash", debian_home)


def test_after_install_cr_is_roams_function_in_a_debian_bashrc(debian_home: Path) -> None:
    _install("bash")
    said = _resolve("bash", debian_home)
    assert "cr is a function" in said
    assert "roam cr" in said
    assert "roam cfork" in _resolve("bash", debian_home, "cfork")


def test_install_puts_the_block_at_the_end_of_bashrc_not_in_bash_aliases(
    debian_home: Path,
) -> None:
    document = _install("bash")
    assert document["path"] == str(debian_home / ".bashrc")
    bashrc = (debian_home / ".bashrc").read_text(encoding="utf-8")
    assert bashrc.rstrip().endswith("# <<< session-roam shortcuts <<<")
    assert "session-roam shortcuts" not in (debian_home / ".bash_aliases").read_text()


def test_install_lists_each_old_definition_and_backs_up_each_file(debian_home: Path) -> None:
    document = _install("bash")
    disabled = document["disabled"]
    assert isinstance(disabled, list)
    assert sorted(old["name"] for old in disabled) == ["cfork", "cr", "cs"]
    backups = [Path(str(path)) for path in document["backups"]]  # type: ignore[attr-defined]
    assert sorted(path.read_text() for path in backups) == sorted([_DEBIAN_BASHRC, _OLD_ALIASES])
    assert all(debian_home / ".local" / "state" in path.parents for path in backups)


def test_an_unrelated_alias_is_left_alone(debian_home: Path) -> None:
    _install("bash")
    assert "\nalias ll='ls -l'\n" in (debian_home / ".bash_aliases").read_text()


def test_uninstall_restores_every_rc_file_byte_for_byte(debian_home: Path) -> None:
    _install("bash")
    result = CliRunner().invoke(app, ["shell", "uninstall", "--shell", "bash"])
    assert result.exit_code == 0, result.output
    assert (debian_home / ".bashrc").read_text() == _DEBIAN_BASHRC
    assert (debian_home / ".bash_aliases").read_text() == _OLD_ALIASES


def test_uninstall_removes_typers_completion_line(clean_environ: Path) -> None:
    line = f"source '{clean_environ / '.bash_completions' / 'roam.sh'}'\n"
    (clean_environ / ".bashrc").write_text("export A=1\n" + line, encoding="utf-8")
    CliRunner().invoke(app, ["shell", "uninstall", "--shell", "bash"])
    assert (clean_environ / ".bashrc").read_text() == "export A=1\n"


def test_keep_aliases_leaves_them_and_warns_loudly(debian_home: Path) -> None:
    result = CliRunner().invoke(app, ["shell", "install", "--shell", "bash", "--keep-aliases"])
    assert result.exit_code == 0
    assert "WARNING" in result.stderr
    assert "still defines cr" in result.stderr
    assert (debian_home / ".bash_aliases").read_text() == _OLD_ALIASES


def test_install_moves_an_older_roams_block_out_of_bash_aliases(debian_home: Path) -> None:
    from session_roam.engine.setup.shell import render_block

    aliases = debian_home / ".bash_aliases"
    aliases.write_text(render_block("bash"), encoding="utf-8")
    document = _install("bash")
    assert document["also"] == [str(aliases)]
    assert aliases.read_text() == ""


def test_install_through_a_symlinked_bashrc_keeps_the_link(clean_environ: Path) -> None:
    target = clean_environ / "dotfiles" / "bashrc"
    target.parent.mkdir()
    target.write_text("alias cr='claude -c'\n", encoding="utf-8")
    (clean_environ / ".bashrc").symlink_to(target)
    _install("bash")
    assert (clean_environ / ".bashrc").is_symlink()
    assert "#roam-off# alias cr=" in target.read_text()


def test_install_twice_changes_nothing(debian_home: Path) -> None:
    _install("bash")
    before = (debian_home / ".bashrc").read_bytes()
    assert _install("bash")["changed"] is False
    assert (debian_home / ".bashrc").read_bytes() == before


@pytest.mark.skipif(_ZSH is None, reason="no zsh here (see the module docstring)")
def test_zsh_install_makes_cr_roams_function_past_an_old_alias(clean_environ: Path) -> None:
    zshrc = clean_environ / ".zshrc"
    zshrc.write_text("alias cr='sleep 2 && claude -c'\n", encoding="utf-8")
    (clean_environ / ".zlogin").write_text("alias cn='claude'\n", encoding="utf-8")
    assert "alias for sleep 2" in _resolve("zsh", clean_environ)
    document = _install("zsh")
    assert document["path"] == str(zshrc)
    assert "cr is a shell function" in _resolve("zsh", clean_environ)
    assert "_roam_completion" in zshrc.read_text() or "compdef" in zshrc.read_text()
    assert sorted(old["name"] for old in document["disabled"]) == ["cn", "cr"]  # type: ignore[attr-defined]
