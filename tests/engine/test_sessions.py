"""Session summaries for ls/cs, and which project folders belong to a directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from session_roam.engine.core.store import list_sessions
from session_roam.engine.sessions.listing import (
    LeaseFacts,
    conversation_preview,
    foreign_cwds,
    lease_facts,
    suggest_for_cwd,
    suggest_mapping,
    summarize,
    with_lease_facts,
)
from session_roam.engine.sessions.pathmap import PathMap, PathMapping, local_project_dirs
from session_roam.engine.sessions.summary_list import list_summaries

if TYPE_CHECKING:
    from tests.engine.sessions_fixtures import SessionWriter


def _only(path: Path) -> object:
    (files,) = list_sessions(path.parent)
    return summarize(files)


def test_summarize_reads_title_prompts_turns_and_cwd(writer: SessionWriter, project: Path) -> None:
    path = writer.write(project, [("first ask", "a"), ("second ask", "b")], title="notes")
    (files,) = list_sessions(path.parent)
    summary = summarize(files)
    assert summary is not None
    assert (summary.title, summary.first_prompt, summary.last_prompt) == (
        "notes",
        "first ask",
        "second ask",
    )
    assert (summary.turns, summary.cwd, summary.size) == (2, str(project), path.stat().st_size)


def test_summarize_takes_the_last_custom_title(writer: SessionWriter, project: Path) -> None:
    path = writer.write(project, [("q", "a")], title="old")
    with path.open("ab") as handle:
        handle.write(b'{"type":"custom-title","customTitle":"new","sessionId":"x"}\n')
    (files,) = list_sessions(path.parent)
    summary = summarize(files)
    assert summary is not None
    assert summary.title == "new"


def test_summarize_skips_torn_lines(writer: SessionWriter, project: Path) -> None:
    path = writer.write(project, [("q", "a")])
    with path.open("ab") as handle:
        handle.write(b'{"type":"user","message":{"content":"tor')
    (files,) = list_sessions(path.parent)
    summary = summarize(files)
    assert summary is not None
    assert summary.turns == 1


def test_summarize_counts_conflict_copies(writer: SessionWriter, project: Path) -> None:
    path = writer.write(project, [("q", "a")])
    copy = path.with_name(f"{path.stem}.sync-conflict-20260301-101010-ABCDEFG.jsonl")
    copy.write_bytes(path.read_bytes())
    (files,) = list_sessions(path.parent)
    summary = summarize(files)
    assert summary is not None
    assert summary.conflict_copies == 1


def test_summarize_ignores_claude_codes_command_wrappers(
    writer: SessionWriter, project: Path
) -> None:
    path = writer.write(project, [("<command-name>/clear</command-name>", "a"), ("real", "b")])
    (files,) = list_sessions(path.parent)
    summary = summarize(files)
    assert summary is not None
    assert (summary.first_prompt, summary.turns) == ("real", 1)


def test_list_summaries_puts_the_newest_first(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    older = writer.write(project, [("older", "a")])
    newer = writer.write(project, [("newer", "a")])
    found = list_summaries(config_dir, PathMap(), cwd=project)
    assert [s.path for s in found] == [newer, older]


def test_list_summaries_leaves_out_other_projects(
    writer: SessionWriter, project: Path, config_dir: Path, tmp_path: Path
) -> None:
    writer.write(project, [("mine", "a")])
    other = tmp_path / "other"
    other.mkdir()
    writer.write(other, [("theirs", "a")])
    assert [s.first_prompt for s in list_summaries(config_dir, PathMap(), cwd=project)] == ["mine"]
    assert len(list_summaries(config_dir, PathMap(), cwd=None)) == 2


def test_list_summaries_includes_sessions_under_a_mapped_foreign_path(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    writer.write("/Users/nat/proj", [("from the mac", "a")], exact=True)
    pathmap = PathMap((PathMapping("/Users/nat", str(project.parent)),))
    found = list_summaries(config_dir, pathmap, cwd=project)
    assert [(s.first_prompt, s.local_cwd) for s in found] == [("from the mac", str(project))]


def test_local_project_dirs_computes_the_foreign_slug(config_dir: Path, project: Path) -> None:
    pathmap = PathMap((PathMapping("/Users/nat", str(project.parent)),))
    folders = local_project_dirs(project, config_dir, pathmap)
    assert [f.name for f in folders][1] == "-Users-nat-proj"


def test_foreign_cwds_lists_unmapped_paths_missing_here(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    writer.write("/Users/nat/proj", [("q", "a")], exact=True)
    writer.write(project, [("q", "a")])
    found = list_summaries(config_dir, PathMap(), cwd=None)
    assert foreign_cwds(found, PathMap()) == ("/Users/nat/proj",)


def test_suggest_mapping_maps_the_foreign_home_to_ours() -> None:
    suggestion = suggest_mapping(("/Users/nat/proj",), Path("/home/nat"))
    assert suggestion is not None
    assert suggestion.command == "roam paths map /Users/nat /home/nat"


def test_conversation_preview_shows_both_sides(writer: SessionWriter, project: Path) -> None:
    path = writer.write(project, [("hello there", "general kenobi")])
    assert conversation_preview(path) == "you: hello there\n\nclaude: general kenobi\n"


def test_lease_facts_are_empty_without_syncthing(config_dir: Path) -> None:
    assert lease_facts(config_dir) == {}


def test_with_lease_facts_fills_holder_and_last_writer(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    path = writer.write(project, [("q", "a")])
    found = list_summaries(config_dir, PathMap(), cwd=project)
    (summary,) = with_lease_facts(found, {path.stem: LeaseFacts("laptop", "desktop")})
    assert (summary.lease_holder, summary.last_writer) == ("laptop", "desktop")


def test_suggest_for_cwd_reads_a_foreign_home_from_folder_names(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    writer.write("/Users/nat/proj", [("q", "a")], exact=True)
    suggestion = suggest_for_cwd(project, project.parent, config_dir / "projects", PathMap())
    assert suggestion is not None
    assert suggestion.command == f"roam paths map /Users/nat {project.parent}"


def test_suggest_for_cwd_is_quiet_once_mapped(
    writer: SessionWriter, project: Path, config_dir: Path
) -> None:
    writer.write("/Users/nat/proj", [("q", "a")], exact=True)
    pathmap = PathMap((PathMapping("/Users/nat", str(project.parent)),))
    assert suggest_for_cwd(project, project.parent, config_dir / "projects", pathmap) is None
