"""The documented JSON contract (docs/schemas/) holds for what the commands really print.

Each schema is versioned (``roam.NAME/1``): fields never change meaning within a version and
new fields may be added, so the schemas allow extra properties but require every documented
one.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest
import typer
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from session_roam.cli.app import app
from tests.support.cluster import discard_pid
from tests.support.machine import Machine, fake_device_id, new_machine, private_env
from tests.support.schemas import SCHEMAS, check_schema
from tests.support.syncthing_bin import SYNCTHING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.engine.sessions_fixtures import SessionWriter

_SCHEMAS: Final = SCHEMAS
_valid: Final = check_schema


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


def _commands(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf command of the typer app, by its full name ("conflicts merge")."""
    context = typer.Context(group)
    for name in group.list_commands(context):
        command, full = group.get_command(context, name), f"{prefix} {name}".strip()
        if hasattr(command, "list_commands"):
            yield from _commands(command, full)
        else:
            yield full, command


_NO_REPORT: Final = frozenset({"cr", "cs", "cn", "cfork", "crf", "hooks run"})  # claude's turn


def test_every_command_that_reports_takes_json_after_its_name() -> None:
    import typer.main

    missing = [
        name
        for name, command in _commands(typer.main.get_command(app))
        if name not in _NO_REPORT
        and "--json" not in {opt for param in command.params for opt in getattr(param, "opts", ())}
    ]
    assert missing == []


def test_conflicts_undo_output_matches_its_schema(writer: SessionWriter, cwd: Path) -> None:
    path = writer.write(cwd, [("the pelican migrates", "ok")])
    copy = path.with_name(f"{path.stem}.sync-conflict-20260301-101500-ABCDEFG.jsonl")
    copy.write_bytes(path.read_bytes())
    writer.append(copy, [("a turn written elsewhere", "ok")])
    assert _roam_json("--json", "conflicts", "merge", path.stem)[0] == 0
    code, document = _roam_json("conflicts", "undo", path.stem, "--json")
    assert code == 0, document
    _valid(document, "roam.conflicts.undo-1")
    assert copy.name in json.dumps(document)  # the copy the merge folded in is back


_SCHEMA_OF: Final = {  # commands whose documents share one schema
    "paths map": "roam.paths",
    "paths unmap": "roam.paths",
    "paths list": "roam.paths",
    "hooks install": "roam.hooks.change",
    "hooks uninstall": "roam.hooks.change",
    "peers add": "roam.peers.change",
    "peers accept": "roam.peers.change",
    "peers remove": "roam.peers.change",
    "shell install": "roam.shell",
    "shell uninstall": "roam.shell",
    "watch install": "roam.watch.service",
    "watch uninstall": "roam.watch.service",
}


def test_every_command_that_reports_has_a_schema() -> None:
    import typer.main

    names = {path.stem.rsplit("-", 1)[0] for path in _SCHEMAS.glob("*.json")}
    missing = [
        name
        for name, _command in _commands(typer.main.get_command(app))
        if name not in _NO_REPORT
        and _SCHEMA_OF.get(name, "roam." + name.replace(" ", ".")) not in names
    ]
    assert missing == []


@pytest.fixture
def journaled(writer: SessionWriter, cwd: Path) -> str:
    """A session whose last turn, journaled here, a stale copy from a peer overwrote."""
    from session_roam.engine.sessions import Journal

    path = writer.write(cwd, [("the pelican migrates", "ok")])
    before = path.read_bytes()
    Journal().record(path, "launch")
    writer.append(path, [("and the heron stays", "ok")])
    Journal().record(path, "release")
    path.write_bytes(before)
    return path.stem


@pytest.mark.parametrize(
    ("argv", "schema"),
    [
        (("journal", "status"), "roam.journal.status-1"),
        (("journal", "restore", "{sid}"), "roam.journal.restore-1"),
        (("restore",), "roam.restore-1"),
        (("restore", "--all"), "roam.restore-1"),
        (("rm", "{sid}", "--dry-run"), "roam.rm-1"),
        (("rm", "{sid}", "--yes"), "roam.rm-1"),
        (("watch", "install", "--no-start"), "roam.watch.service-1"),
        (("watch", "uninstall", "--no-start"), "roam.watch.service-1"),
        (("hooks", "status"), "roam.hooks.status-1"),
    ],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_local_command_output_matches_its_schema(
    argv: tuple[str, ...], schema: str, journaled: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROAM_NO_SYSTEMD", "1")
    code, document = _roam_json(*(arg.format(sid=journaled) for arg in argv), "--json")
    assert code == 0, document
    _valid(document, schema)
    if argv[0] == "journal":  # the lost turn (its prompt and reply) is really in the document
        assert '"missing": 2' in json.dumps(document)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Machine, Any]]:
    """One machine set up by `roam setup --json` on a real Syncthing (127.0.0.1), and that
    document; its node is stopped afterwards."""
    if SYNCTHING is None:
        pytest.skip("syncthing is not installed")
    made = new_machine(tmp_path_factory.mktemp("node"))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in private_env(made.root).items():
            patch.setenv(name, value)
        try:
            result = made.setup(before=("--json",))
            assert result.exit_code == 0, result.output
            yield made, json.loads(result.stdout)
        finally:
            discard_pid(made.syncthing_home)


@pytest.mark.e2e
def test_setup_output_matches_its_schema(node: tuple[Machine, Any]) -> None:
    _valid(node[1], "roam.setup-1")


_PEER: Final = fake_device_id("a schema's peer")


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("argv", "schema"),
    [
        (("status", "--syncthing-home", "{home}"), "roam.status-1"),
        (
            ("peers", "add", _PEER, "--name", "nas", "--syncthing-home", "{home}"),
            "roam.peers.change-1",
        ),
        (("peers", "list", "--syncthing-home", "{home}"), "roam.peers.list-1"),
        (("pair", "--syncthing-home", "{home}"), "roam.pair-1"),
        (("peers", "remove", _PEER, "--syncthing-home", "{home}"), "roam.peers.change-1"),
        (("lease", "status"), "roam.lease.status-1"),
        (("lease", "release", "{sid}"), "roam.lease.release-1"),
        (("lease", "steal", "{sid}"), "roam.lease.steal-1"),
    ],
    ids=lambda value: value if isinstance(value, str) else " ".join(value[:2]),
)
def test_syncthing_command_output_matches_its_schema(
    argv: tuple[str, ...], schema: str, node: tuple[Machine, Any]
) -> None:
    machine, fill = node[0], {"home": str(node[0].syncthing_home), "sid": str(uuid.uuid4())}
    argv = ("--claude-dir", str(machine.claude_dir), *(arg.format(**fill) for arg in argv))
    # the machine's own HOME, where setup recorded its Syncthing home for lease to find
    result = CliRunner().invoke(app, [*argv, "--json"], env=private_env(machine.root))
    assert result.exit_code == 0, result.stdout
    _valid(json.loads(result.stdout), schema)


@pytest.mark.e2e
def test_lease_status_with_a_claim_matches_its_schema(node: tuple[Machine, Any]) -> None:
    machine, session = node[0], str(uuid.uuid4())
    env, argv = private_env(machine.root), ["--claude-dir", str(machine.claude_dir), "lease"]
    assert CliRunner().invoke(app, [*argv, "steal", session], env=env).exit_code == 0
    result = CliRunner().invoke(app, [*argv, "status", "--json"], env=env)
    document = json.loads(result.stdout)
    _valid(document, "roam.lease.status-1")
    assert session in {lease["session"] for lease in document["leases"]}
