"""``roam ls --json``'s start-up fast path (``cli/fast_ls.py``) and the typer app are one command:
the fast path takes only command lines the typer app parses to the same options, and both
write the same document, warnings and errors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.cli.fast_ls import _SORTS, parse_fast_ls, run_fast_ls
from session_roam.engine.sessions.ls_query import SORTS
from tests.cli.test_fast_parity import _Refused, _typer_parse

if TYPE_CHECKING:
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter

_TOKENS: Final = (
    *("ls", "cf", "x", "", "-", "--", "--json", "--json=1", "-v", "--help", "--bogus"),
    *("--all", "-a", "--limit", "-n", "5", "0", "-3", "many", "\uff13", "--limit=7", "-n=2"),
    *("--sort", "size", "project", "time", "name", "--sort=size", "--sort="),
    *("--project", "api", "--machine", "--since", "7d", "--until"),
    *("--claude-dir", "/tmp/c", "--claude-dir=/tmp/c", "--claude-dir="),
)
_CHUNKS: Final = (
    *(["--json"], ["--all"], ["-a"], ["--limit", "5"], ["-n", "3"], ["--sort", "size"]),
    *(["--sort=project"], ["--limit=2"]),
)
_ARGV: Final = st.one_of(
    st.lists(st.sampled_from(_TOKENS), max_size=8),
    st.tuples(
        st.lists(st.sampled_from((["--json"], ["--claude-dir", "/tmp/c"])), max_size=2),
        st.lists(st.sampled_from(_CHUNKS), max_size=4),
        st.lists(st.sampled_from(_TOKENS), max_size=1),
        st.integers(min_value=0, max_value=4),
    ).map(
        lambda t: [
            *(x for c in t[0] for x in c),
            "ls",
            *(x for c in t[1][: t[3]] for x in c),
            *t[2],
            *(x for c in t[1][t[3] :] for x in c),
        ]
    ),
)


def _parsed(argv: list[str]) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """The command, root options and command options the typer app parses, or None when it
    refuses the command line."""
    try:
        name, root, params, _claude_args = _typer_parse(argv)
    except _Refused:
        return None
    return name, root, params


@pytest.fixture(autouse=True)
def _no_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)


def test_the_fast_path_knows_every_sort_ls_knows() -> None:
    assert _SORTS == SORTS


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=_ARGV)
def test_the_fast_path_takes_only_argv_the_typer_app_parses_to_the_same_options(
    argv: list[str],
) -> None:
    fast = parse_fast_ls(argv)
    if fast is None:
        return
    parsed = _parsed(argv)
    assert parsed is not None, f"the fast path took {argv!r}, which the typer app refuses"
    name, root, params = parsed
    assert name == "ls"
    assert (root["json_output"] or params["json_output"]) is fast["json"] is True
    assert (params["all_projects"], params["sort"], params["limit"]) == (
        fast["all"],
        fast["sort"],
        fast["limit"],
    )
    assert (params["project"], params["machine"], params["since"], params["until"]) == (
        None,
        None,
        None,
        None,
    )
    claude_dir = root["claude_dir"]
    assert (None if claude_dir is None else str(claude_dir)) == fast["claude_dir"]
    assert not root["verbose"]


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "--all"],
        ["ls", "--json", "--limit", "0"],
        ["ls", "--json", "--sort", "name"],
        ["ls", "--json", "--project", "api"],
        ["--all", "ls", "--json"],
        ["ls", "--json", "--help"],
    ],
)
def test_the_fast_path_leaves_other_command_lines_to_the_typer_app(argv: list[str]) -> None:
    assert parse_fast_ls(argv) is None


def _both(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[Any, Any]:
    """(exit code, stdout) of the typer app and of the fast path, for one command line."""
    full = CliRunner().invoke(app, argv)
    options = parse_fast_ls(argv)
    assert options is not None
    capsys.readouterr()
    code = run_fast_ls(options)
    return (full.exit_code, full.stdout), (code, capsys.readouterr().out)


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "--all", "--json"],
        ["--json", "ls", "-a", "--sort", "size", "--limit", "1"],
        ["ls", "--json"],
    ],
)
def test_the_fast_path_writes_the_typer_apps_document(
    argv: list[str], writer: SessionWriter, cwd: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    other = tmp_path / "elsewhere"
    other.mkdir()
    writer.write(cwd, [("here", "a")])
    writer.write(other, [("there " + "x" * 300, "b")])
    full, fast = _both(argv, capsys)
    assert full == fast
    assert json.loads(fast[1])


def test_an_error_is_the_same_envelope_and_exit_code(
    writer: SessionWriter, cwd: Path, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer.write(cwd, [("here", "a")])
    (clean_environ / ".cache" / "session-roam" / "summaries.sqlite").mkdir(parents=True)
    full, fast = _both(["ls", "--all", "--json"], capsys)
    assert full == fast
    assert fast[0] == 3
    assert json.loads(fast[1])["schema"] == "roam.error/1"
