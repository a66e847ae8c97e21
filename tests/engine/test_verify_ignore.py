"""The small model of Syncthing's ignore patterns that verify uses."""

from __future__ import annotations

import pytest

from session_roam.engine.syncthing.ignore import template_text
from session_roam.engine.verify.ignore import (
    MUST_SYNC,
    ignored,
    ignored_must_sync,
    missing_patterns,
)


def test_template_lets_everything_roam_needs_sync() -> None:
    assert ignored_must_sync(template_text()) == ()


@pytest.mark.parametrize(
    "path",
    [
        ".roam-tmp-abc",
        "-p/.roam-tmp-abc",
        "-p/worktrees/x/file.py",
        "-p/node_modules/left-pad/index.js",
        ".stversions/x.jsonl",
        "-p/.DS_Store",
    ],
)
def test_template_ignores_junk(path: str) -> None:
    assert ignored(path, template_text())


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.jsonl", "-p/a.jsonl", True),
        ("/*.jsonl", "-p/a.jsonl", False),
        ("/-p/a.jsonl", "-p/a.jsonl", True),
        ("**/subagents", "-p/s/subagents/agent-a.jsonl", True),
        ("(?d)memory", "-p/memory/MEMORY.md", True),
        ("(?i)MEMORY.MD", "-p/memory/memory.md", True),
        ("a?c", "-p/abc", True),
        ("[ab].txt", "-p/b.txt", True),
    ],
)
def test_ignored_follows_syncthing_syntax(pattern: str, path: str, expected: bool) -> None:
    assert ignored(path, pattern) is expected


def test_ignored_first_match_wins_and_negation_keeps() -> None:
    assert not ignored("-p/a.jsonl", "!*.jsonl\n*")
    assert ignored("-p/a.txt", "!*.jsonl\n*")


def test_ignored_must_sync_names_blocked_paths() -> None:
    assert ignored_must_sync("memory") == tuple(p for p in MUST_SYNC if "/memory/" in p)


def test_missing_patterns_ignores_comments_and_extra_lines() -> None:
    template = "// why\n(?d)a\nb\n"
    assert missing_patterns("// other\nb\nmine\n", template) == ("(?d)a",)
