from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.syncthing.ignore import (
    MERGE_MARKER,
    install_stignore,
    patterns,
    template_text,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_template_keeps_sessions_subagents_and_memory() -> None:
    rules = patterns(template_text())
    for kept in ("*.jsonl", "subagents", "**/subagents", "memory", "*.sync-conflict-*"):
        assert kept not in rules


def test_template_ignores_roam_and_syncthing_temp_files() -> None:
    rules = patterns(template_text())
    assert "(?d).roam-tmp-*" in rules
    assert "(?d).syncthing.*.tmp" in rules


def test_template_comments_every_rule_group() -> None:
    lines = template_text().splitlines()
    for number, line in enumerate(lines):
        if line and not line.startswith("//") and (number == 0 or not lines[number - 1]):
            raise AssertionError(f"rule group without a comment at line {number + 1}: {line}")


def test_install_stignore_writes_template_into_fresh_folder(tmp_path: Path) -> None:
    result = install_stignore(tmp_path / "projects")
    assert result.action == "installed"
    assert result.path.read_text() == template_text()
    assert result.path.stat().st_mode & 0o777 == 0o600


def test_install_stignore_twice_is_unchanged(tmp_path: Path) -> None:
    install_stignore(tmp_path)
    assert install_stignore(tmp_path).action == "unchanged"


def test_install_stignore_keeps_users_lines_and_appends_missing(tmp_path: Path) -> None:
    (tmp_path / ".stignore").write_text("// mine\nsecret-notes\n(?d).roam-tmp-*\n")
    result = install_stignore(tmp_path)
    text = (tmp_path / ".stignore").read_text()
    assert result.action == "merged"
    assert text.startswith("// mine\nsecret-notes\n(?d).roam-tmp-*\n")
    assert MERGE_MARKER in text
    assert "(?d).roam-tmp-*" not in result.added
    assert text.count("(?d).roam-tmp-*") == 1


def test_install_stignore_after_merge_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / ".stignore").write_text("secret-notes")
    install_stignore(tmp_path)
    assert install_stignore(tmp_path).action == "unchanged"


def test_install_stignore_keeps_users_file_mode(tmp_path: Path) -> None:
    path = tmp_path / ".stignore"
    path.write_text("secret-notes\n")
    path.chmod(0o640)
    install_stignore(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o640
