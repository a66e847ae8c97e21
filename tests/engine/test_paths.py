from __future__ import annotations

import os
from pathlib import Path

import pytest

from session_roam.engine.core.paths import (
    SLUG_MAX,
    claude_config_dir,
    ensure_inside,
    project_dir_for,
    project_slug,
    projects_dir,
    validate_session_id,
)
from session_roam.errors import InvalidInput

# The 12-level path of experiment E9 (research/claude-code-format.md §1.2); Claude Code 2.1.331
# named its folder "...-segment-number-09-segmen-bzqonu".
DEEP_PATH = "/tmp/exp/work" + "".join(f"/segment_number_{i:02d}" for i in range(12))


def test_slug_replaces_every_non_alphanumeric_character() -> None:
    assert project_slug("/tmp/exp/work/My Proj.v2_x~y@z+ü") == "-tmp-exp-work-My-Proj-v2-x-y-z--"


def test_slug_turns_an_emoji_into_two_dashes() -> None:
    assert project_slug("/tmp/exp/work/😀b") == "-tmp-exp-work---b"


def test_slug_keeps_case_and_digits() -> None:
    assert project_slug("/Users/Alice/code/App2") == "-Users-Alice-code-App2"


def test_slug_of_a_long_path_matches_the_observed_folder_name() -> None:
    slug = project_slug(DEEP_PATH)
    assert slug.endswith("-segment-number-09-segmen-bzqonu")


def test_slug_of_a_long_path_is_200_characters_a_dash_and_base36() -> None:
    slug = project_slug(DEEP_PATH.replace("_", "-"))
    head, _, tail = slug.rpartition("-")
    assert len(head) == SLUG_MAX
    assert tail.isalnum()
    assert tail == tail.lower()


def test_slug_of_exactly_200_characters_has_no_hash() -> None:
    path = "/" + "a" * 199
    assert project_slug(path) == "-" + "a" * 199


def test_config_dir_prefers_the_explicit_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "/elsewhere")
    assert claude_config_dir(Path("/given")) == Path("/given")


def test_config_dir_follows_claude_config_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "/alt/cfg")
    assert claude_config_dir() == Path("/alt/cfg")


def test_config_dir_defaults_to_dot_claude_in_home(clean_environ: Path) -> None:
    assert claude_config_dir() == clean_environ / ".claude"


def test_project_dir_resolves_a_symlinked_cwd(tmp_path: Path) -> None:
    real = tmp_path / "real proj"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    config = tmp_path / "cfg"
    expected = projects_dir(config) / project_slug(os.path.realpath(real))
    assert project_dir_for(link, config) == expected


def test_session_id_accepts_a_uuid_and_lowercases_it() -> None:
    value = "0B5F3C1E-8A2D-4C6F-9E1B-2D3C4B5A6F70"
    assert validate_session_id(value) == value.lower()


@pytest.mark.parametrize("bad", ["", "../etc/passwd", "abc", "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f7"])
def test_session_id_refuses_anything_but_a_uuid(bad: str) -> None:
    with pytest.raises(InvalidInput, match="is not a session id"):
        validate_session_id(bad)


def test_ensure_inside_accepts_a_file_in_a_project(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    (root / "p").mkdir(parents=True)
    assert ensure_inside(root / "p" / "x.jsonl", root) == (root / "p" / "x.jsonl").resolve()


@pytest.mark.parametrize("relative", ["../outside.jsonl", "p/../../outside.jsonl", "."])
def test_ensure_inside_refuses_paths_outside_projects(tmp_path: Path, relative: str) -> None:
    root = tmp_path / "projects"
    (root / "p").mkdir(parents=True)
    with pytest.raises(InvalidInput, match="is not inside Claude Code's projects folder"):
        ensure_inside(root / relative, root)


def test_ensure_inside_refuses_a_symlink_leading_out(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    root.mkdir()
    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(InvalidInput):
        ensure_inside(root / "escape" / "x.jsonl", root)
