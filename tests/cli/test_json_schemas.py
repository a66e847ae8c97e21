"""The documented JSON contract (docs/schemas/) holds for what the commands really print.

Each schema is versioned (``roam.NAME/1``): fields never change meaning within a version and
new fields may be added, so the schemas allow extra properties but require every documented
one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from session_roam.cli.app import app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.engine.sessions_fixtures import SessionWriter

_SCHEMAS: Final = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def _valid(document: Any, name: str) -> None:
    schema = json.loads((_SCHEMAS / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(document)


def _roam_json(*argv: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, list(argv))
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def sessions(writer: SessionWriter, cwd: Path) -> Path:
    writer.write(cwd, [("the pelican migrates", "ok")], title="birds")
    return cwd


def test_every_schema_file_is_a_valid_versioned_schema() -> None:
    names = sorted(path.stem for path in _SCHEMAS.glob("*.json"))
    assert names
    for name in names:
        schema = json.loads((_SCHEMAS / f"{name}.json").read_text())
        Draft202012Validator.check_schema(schema)
        stem, version = name.rsplit("-", 1)
        assert schema["$id"] == f"{stem}/{version}"


def test_ls_output_matches_its_schema(sessions: Path) -> None:
    code, document = _roam_json("ls", "--json")
    assert (code, len(document)) == (0, 1)
    _valid(document, "roam.ls-1")


def test_cf_output_matches_its_schema(sessions: Path) -> None:
    code, document = _roam_json("cf", "pelican", "--json")
    assert (code, len(document)) == (0, 1)
    _valid(document, "roam.cf-1")


def test_cf_with_no_match_is_an_empty_list_and_exit_8(sessions: Path) -> None:
    assert _roam_json("--json", "cf", "zebra") == (8, [])


def test_an_error_matches_the_envelope_schema(sessions: Path) -> None:
    code, document = _roam_json("lease", "release", "../x", "--json")
    assert code == 2
    _valid(document, "roam.error-1")


def test_a_usage_error_matches_the_envelope_schema(sessions: Path) -> None:
    code, document = _roam_json("--json", "ls", "--bogus")
    assert code == 2
    _valid(document, "roam.error-1")


def test_version_matches_its_schema() -> None:
    code, document = _roam_json("--version", "--json")
    assert code == 0
    _valid(document, "roam.version-1")


def test_verify_output_matches_its_schema(sessions: Path) -> None:
    code, document = _roam_json("verify", "--json", "--shell", "bash")
    assert code in (0, 7)
    _valid(document, "roam.verify-1")


@pytest.mark.parametrize(
    ("argv", "schema"),
    [
        (("paths", "map", "/elsewhere/nat", "{cwd}"), "roam.paths-1"),
        (("backups",), "roam.backups-1"),
        (("shell", "install", "--shell", "bash"), "roam.shell-1"),
        (("hooks", "install"), "roam.hooks.change-1"),
        (("conflicts", "list", "--all"), "roam.conflicts.list-1"),
        (("conflicts", "show", "{sid}"), "roam.conflicts.show-1"),
        (("conflicts", "merge", "{sid}"), "roam.conflicts.merge-1"),
    ],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_command_output_matches_its_schema(
    argv: tuple[str, ...], schema: str, writer: SessionWriter, cwd: Path
) -> None:
    path = writer.write(cwd, [("the pelican migrates", "ok")])
    copy = path.with_name(f"{path.stem}.sync-conflict-20260301-101500-ABCDEFG.jsonl")
    copy.write_bytes(path.read_bytes())
    writer.append(copy, [("a turn written elsewhere", "ok")])
    fill = {"sid": path.stem, "cwd": str(cwd)}
    code, document = _roam_json("--json", *(arg.format(**fill) for arg in argv))
    assert code == 0, document
    _valid(document, schema)
    if schema.startswith("roam.conflicts"):  # the planted copy is really in the document
        assert "sync-conflict" in json.dumps(document)


def test_json_option_is_declared_once_for_every_command() -> None:
    cli = Path(__file__).resolve().parents[2] / "src" / "session_roam" / "cli"
    option = re.compile(r'typer\.Option\(\s*"--json"')
    declaring = sorted(p.name for p in cli.glob("*.py") if option.search(p.read_text()))
    assert declaring == ["options.py"]


_NO_REPORT: Final = frozenset({"cr", "cs", "cn", "cfork", "crf", "hooks run"})  # claude's turn


def test_every_command_that_reports_takes_json_after_its_name() -> None:
    import typer.main

    def commands(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
        context = typer.Context(group)
        for name in group.list_commands(context):
            command, full = group.get_command(context, name), f"{prefix} {name}".strip()
            yield from (
                commands(command, full) if hasattr(command, "list_commands") else [(full, command)]
            )

    missing = [
        name
        for name, command in commands(typer.main.get_command(app))
        if name not in _NO_REPORT
        and "--json" not in {opt for param in command.params for opt in getattr(param, "opts", ())}
    ]
    assert missing == []
