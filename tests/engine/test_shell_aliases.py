"""engine.shell_aliases: the bash version's definitions of roam's names, found in each form
bash, zsh and fish write them, and put back byte for byte."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from session_roam.engine.setup.shell_aliases import disable_old, find_old, restore_old

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        (".bashrc", "alias cr='sleep 2 && claude -c'\n", ["cr"]),
        (".bashrc", 'alias cs="claude --resume"\n', ["cs"]),
        (".bashrc", "alias ll='ls -l' crf='claude -c --fork-session'\n", ["crf"]),
        (".bashrc", 'function cn {\n  claude -n "$1"\n}\n', ["cn"]),
        (".bashrc", 'cf ()\n{\n  rg "$@" ~/.claude\n}\n', ["cf"]),
        (".zshrc", "alias -g cr='claude -c'\n", ["cr"]),
        (".config/fish/config.fish", "alias cr 'claude -c'\n", ["cr"]),
        (".config/fish/config.fish", "abbr -a cs claude --resume\n", ["cs"]),
        (
            ".config/fish/config.fish",
            "function cfork\n  claude -r $argv --fork-session\nend\n",
            ["cfork"],
        ),
        (".bashrc", "alias crate='cargo'\n# alias cr='old'\nexport cr=1\n", []),
    ],
)
def test_old_definitions_are_found_in_each_form(
    tmp_path: Path, name: str, text: str, found: list[str]
) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    assert [old.name for old in find_old(tmp_path)] == found


def test_a_multi_line_function_is_turned_off_whole_and_back_on_byte_for_byte(
    tmp_path: Path,
) -> None:
    text = 'export A=1\ncfork() {\n  if true; then\n    claude -r "${1}"\n  fi\n}\necho after\n'
    rc = tmp_path / ".bashrc"
    rc.write_text(text, encoding="utf-8")
    disabled, _backups = disable_old(tmp_path)
    assert [old.line for old in disabled] == [2]
    off = rc.read_text(encoding="utf-8")
    assert "echo after\n" in off.splitlines(keepends=True)  # the line after it is untouched
    assert all(line.startswith("#") for line in off.splitlines()[1:7])
    restore_old(tmp_path, ("bash",))
    assert rc.read_text(encoding="utf-8") == text


def test_a_fish_one_line_function_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / ".config" / "fish" / "config.fish"
    config.parent.mkdir(parents=True)
    config.write_text("function cr; claude -c; end\nset -x EDITOR vim\nend\n", encoding="utf-8")
    disable_old(tmp_path)
    assert config.read_text(encoding="utf-8").endswith("set -x EDITOR vim\nend\n")


def test_uninstall_shell_undoes_every_shell_and_creates_nothing(tmp_path: Path) -> None:
    from session_roam.engine.setup import install_shortcuts, uninstall_shell

    rc = tmp_path / ".bashrc"
    rc.write_text("alias cr='claude -c'\n", encoding="utf-8")
    install_shortcuts("bash", tmp_path)
    install_shortcuts("zsh", tmp_path)
    changes = uninstall_shell(tmp_path)
    assert [(c.shell, c.changed) for c in changes] == [
        ("bash", True),
        ("zsh", True),
        ("fish", False),
    ]
    assert rc.read_text(encoding="utf-8") == "alias cr='claude -c'\n"
    assert (tmp_path / ".zshrc").read_text(encoding="utf-8") == ""
    assert not (tmp_path / ".config" / "fish").exists()
