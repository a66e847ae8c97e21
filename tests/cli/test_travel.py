"""`roam export` and `roam import` on the command line: JSON per schema, exit codes per
docs/cli.md."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from typer.testing import CliRunner

from session_roam.cli.app import app
from tests.support.schemas import check_schema

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.engine.sessions_fixtures import SessionWriter


def _roam(*argv: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, list(argv))
    return result.exit_code, json.loads(result.stdout)


def test_export_then_import_elsewhere_report_per_their_schemas(
    writer: SessionWriter, cwd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = writer.write(cwd, [("the pelican migrates", "ok")], title="birds")
    out = tmp_path / "birds.roam.tgz"
    code, exported = _roam("export", "birds", "-o", str(out), "--json")
    assert code == 0, exported
    check_schema(exported, "roam.export-1")
    assert exported["session_id"] == path.stem
    other = tmp_path / "other-home"
    other.mkdir()
    monkeypatch.setenv("HOME", str(other))
    code, imported = _roam("import", str(out), "--json")
    assert code == 0, imported
    check_schema(imported, "roam.import-1")
    assert imported["outcome"] == "imported"
    assert (other / ".claude" / "projects" / imported["project"] / path.name).read_bytes() == (
        path.read_bytes()
    )


def test_import_of_a_damaged_file_is_one_invalid_input_envelope(cwd: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.roam.tgz"
    junk.write_bytes(b"\x1f\x8b garbage")
    code, document = _roam("import", str(junk), "--json")
    assert code == 2
    check_schema(document, "roam.error-1")
    assert "not a valid roam export" in document["error"]["message"]


def test_import_over_a_different_session_exits_with_the_merge_code(
    writer: SessionWriter, cwd: Path, tmp_path: Path
) -> None:
    path = writer.write(cwd, [("the pelican migrates", "ok")])
    out = tmp_path / "s.roam.tgz"
    assert _roam("export", path.stem, "-o", str(out), "--json")[0] == 0
    writer.append(path, [("a later turn here", "ok")])
    code, document = _roam("import", str(out), "--json")
    assert code == 6
    assert "already here" in document["error"]["message"]
