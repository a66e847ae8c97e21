"""`roam ls`, `roam cf` and `roam paths` through the real CLI boundary."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from session_roam.cli.app import app

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.engine.sessions_fixtures import SessionWriter


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_ls_json_lists_this_directorys_sessions(writer: SessionWriter, cwd: Path) -> None:
    path = writer.write(cwd, [("plan the migration", "ok")], title="migration")
    code, out, _ = _run("ls", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert (row["session_id"], row["title"], row["turns"]) == (path.stem, "migration", 1)


def test_ls_table_shows_the_name(writer: SessionWriter, cwd: Path) -> None:
    writer.write(cwd, [("plan the migration", "ok")], title="migration")
    code, out, _ = _run("ls")
    assert code == 0
    assert "migration" in out


def test_ls_says_how_to_start_when_empty(writer: SessionWriter, cwd: Path) -> None:
    code, _, err = _run("ls")
    assert code == 0
    assert "roam cn NAME" in err


def test_ls_suggests_a_mapping_for_foreign_paths(writer: SessionWriter, cwd: Path) -> None:
    writer.write("/Users/nat/proj", [("from the mac", "ok")], exact=True)
    code, _, err = _run("ls", "--all")
    assert code == 0
    assert "roam paths map /Users/nat" in err


def test_paths_map_makes_a_foreign_session_this_directorys(
    writer: SessionWriter, cwd: Path
) -> None:
    path = writer.write("/Users/nat/proj", [("from the mac", "ok")], exact=True)
    code, _, _ = _run("paths", "map", "/Users/nat", str(cwd.parent))
    assert code == 0
    code, out, _ = _run("--json", "ls")
    assert [row["session_id"] for row in json.loads(out)] == [path.stem]


def test_paths_list_and_unmap(writer: SessionWriter, cwd: Path) -> None:
    _run("paths", "map", "/Users/nat", "/home/nat")
    code, out, _ = _run("paths", "list")
    assert (code, out.strip()) == (0, "/Users/nat -> /home/nat")
    code, out, _ = _run("paths", "unmap", "/Users/nat", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_paths_map_refuses_a_relative_path(writer: SessionWriter, cwd: Path) -> None:
    code, _, err = _run("paths", "map", "nat", "/home/nat")
    assert code == 2
    assert "not an absolute path" in err


def test_cf_json_prints_matches_with_the_documented_fields(
    writer: SessionWriter, cwd: Path
) -> None:
    path = writer.write(cwd, [("tune the postgres vacuum", "ok")])
    code, out, _ = _run("cf", "vacuum", "--json")
    assert code == 0
    (match,) = json.loads(out)
    assert {"session_id", "cwd", "path", "timestamp", "snippet"} <= set(match)
    assert (match["session_id"], match["path"]) == (path.stem, str(path))


def test_cf_exits_8_no_match_when_nothing_matches(writer: SessionWriter, cwd: Path) -> None:
    writer.write(cwd, [("hello", "ok")])
    code, out, err = _run("cf", "--json", "absent")
    assert (code, json.loads(out)) == (8, [])
    code, _, err = _run("cf", "absent")
    assert code == 8
    assert "matches 'absent'" in err


def test_cf_searches_other_projects_only_with_all(
    writer: SessionWriter, cwd: Path, tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    writer.write(other, [("kubernetes ingress", "ok")])
    assert _run("cf", "ingress")[0] == 8
    assert _run("cf", "--all", "ingress")[0] == 0


def test_cf_refuses_an_empty_keyword(writer: SessionWriter, cwd: Path) -> None:
    code, _, err = _run("cf", "")
    assert code == 2
    assert "keyword is empty" in err
    assert "Traceback" not in err


def test_cf_survives_fts5_syntax_errors(writer: SessionWriter, cwd: Path) -> None:
    writer.write(cwd, [('say "hi', "ok")])
    code, out, _ = _run("cf", '"hi', "--json")
    assert code == 0
    assert len(json.loads(out)) == 1


def test_cf_prints_the_snippet_for_people(writer: SessionWriter, cwd: Path) -> None:
    writer.write(cwd, [("where is the flamegraph", "ok")])
    code, out, _ = _run("cf", "flamegraph")
    assert code == 0
    assert "where is the flamegraph" in out


def test_ls_suggests_a_mapping_when_another_machine_has_this_project(
    writer: SessionWriter, clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = clean_environ / "proj"
    here.mkdir()
    monkeypatch.chdir(here)
    writer.write("/Users/nat/proj", [("from the mac", "ok")], exact=True)
    code, _, err = _run("ls")
    assert code == 0
    assert f"roam paths map /Users/nat {clean_environ.resolve()}" in err
