"""One CLI: the fast start-up path and the typer app agree on every command line (issue 15).

The fast path (``cli/fast.py``) takes a command line only when it can prove what it means and
runs the same body as the full command (``cli.search.run_cf``, ``engine.coordinate.run_cr``).
For generated argv: whatever the fast path accepts, the typer app parses to the same command
and the same options; whatever the typer app refuses as a usage error, the fast path leaves
to it (so the error, its code and its JSON envelope are the typer app's, once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, cast

import pytest
import typer
import typer.core
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer._click.exceptions import ClickException

from session_roam.cli.app import app
from session_roam.cli.fast import parse_fast_cf
from session_roam.cli.fast_cr import parse_fast_cr

_TOKENS: Final = (
    *("cf", "cr", "ls", "x", "two words", "sess", "", "-", "--", "-p", "hi"),
    *("--json", "--verbose", "-v", "--help", "--version", "--bogus", "--json=1"),
    *("--all", "-a", "--limit", "-n", "5", "0", "-3", "many", "\uff13", "--limit=7"),
    *("--claude-dir", "/tmp/c", "--claude-dir=/tmp/c", "--claude-dir="),
    *("--force", "-f", "-fv", "--offline", "--wait", "--no-lease", "--syncthing-home", "/tmp/h"),
    *("--timeout", "2.5", ".5", "1e3", "nan", "--timeout=3", "--syncthing-home="),
    *("--model", "sonnet", "-p", "--verbose", "--add-dir=/x", "-c", "--resume"),
)
_ARGV: Final = st.one_of(
    st.lists(st.sampled_from(_TOKENS), max_size=8),
    # command lines that start like the two fast commands, so most examples reach their parsers
    st.tuples(
        st.lists(st.sampled_from(("--json", "-v", "--claude-dir", "/tmp/c")), max_size=3),
        st.sampled_from(("cf", "cr")),
        st.lists(st.sampled_from(_TOKENS), max_size=6),
    ).map(lambda t: [*t[0], t[1], *t[2]]),
)
_ROOT_CHUNKS: Final = (["--json"], ["-v"], ["--claude-dir", "/tmp/c"], ["--claude-dir=/tmp/c"])
_CF_CHUNKS: Final = (["x"], ["two words"], ["--json"], ["--all"], ["-a"], ["--limit", "5"])
_CR_CHUNKS: Final = (
    *(["sess"], ["--force"], ["-f"], ["--offline"], ["--wait"], ["--no-lease"]),
    *(["--timeout", "2.5"],),
    *(["--timeout=3"], ["--syncthing-home", "/tmp/h"], ["--", "-p", "hi"], ["--", "--json"]),
    *(["--model", "sonnet"], ["-p", "hi"], ["--dangerously-skip-permissions"], ["--bogus=1"]),
)


def _chunks(options: tuple[list[str], ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(options), max_size=5).map(lambda c: [t for x in c for t in x])


#: Mostly well-formed ``cf``/``cr`` lines, often with one token from the pool mixed in.
_NEAR_VALID: Final = st.tuples(
    _chunks(_ROOT_CHUNKS),
    st.sampled_from(("cf", "cr")),
    st.one_of(_chunks(_CF_CHUNKS), _chunks(_CR_CHUNKS)),
    st.lists(st.sampled_from(_TOKENS), max_size=1),
    st.integers(min_value=0, max_value=8),
).map(lambda t: [*t[0], t[1], *t[2][: t[4]], *t[3], *t[2][t[4] :]])
_GROUP: Final = cast("typer.core.TyperGroup", typer.main.get_command(app))


class _Refused(Exception):
    """The typer app refused the command line (a usage error, --help or --version)."""


def _typer_parse(argv: list[str]) -> tuple[str, dict[str, Any], dict[str, Any], tuple[str, ...]]:
    """The command, the root options, the command's options and claude's arguments, as the
    typer app parses ``argv``, without running anything."""
    try:
        root = _GROUP.make_context("roam", list(argv))
        rest = [*getattr(root, "_protected_args", ()), *root.args]
        name, command, args = _GROUP.resolve_command(root, rest)
        assert name is not None
        assert command is not None
        sub = command.make_context(name, args, parent=root)
    except (ClickException, typer.Exit) as refused:
        raise _Refused from refused
    return name, dict(root.params), dict(sub.params), tuple(sub.meta.get("roam.claude_args", ()))


def _claude_dir(value: str | None) -> Path | None:
    return Path(value) if value is not None else None


@pytest.fixture(autouse=True)
def _no_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both paths read these as option defaults; generated argv must decide alone.
    for name in ("CLAUDE_CONFIG_DIR", "ROAM_SYNCTHING_HOME", "_ROAM_COMPLETE"):
        monkeypatch.delenv(name, raising=False)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=st.one_of(_ARGV, _NEAR_VALID))
def test_the_fast_path_accepts_only_argv_the_typer_app_parses_to_the_same_command(
    argv: list[str],
) -> None:
    cf, cr = parse_fast_cf(argv), parse_fast_cr(argv)
    if cf is None and cr is None:
        return  # the typer app handles it, whatever it is: nothing to compare
    try:
        name, root, params, claude_args = _typer_parse(argv)
    except _Refused:
        pytest.fail(f"the fast path took {argv!r}, which the typer app refuses")
    assert _claude_dir(root["claude_dir"]) == _claude_dir(
        (cf or {}).get("claude_dir") if cf else cr.claude_dir if cr else None
    )
    if cf is not None:
        assert name == "cf"
        assert (root["json_output"] or params["json_output"]) is cf["json"] is True
        assert params["keywords"] == cf["words"]
        assert (params["all_projects"], params["limit"]) == (cf["all"], cf["limit"])
        assert not root["verbose"]
    if cr is not None:
        assert name == "cr"
        assert (root["json_output"], root["verbose"]) == (cr.json, cr.verbose)
        assert params["session"] == cr.query
        assert (params["force"], params["no_lease"], params["offline"], params["wait"]) == (
            cr.force,
            cr.no_lease,
            cr.offline,
            cr.wait,
        )
        assert params["timeout"] == cr.timeout_s
        assert _claude_dir(params["syncthing_home"]) == _claude_dir(cr.syncthing_home)
        assert claude_args == cr.claude_args


@pytest.mark.parametrize(
    "argv",
    [
        ["cf", "--json", "--limit", "many", "x"],
        ["cr", "a", "b"],
        ["cr", "--timeout", "soon"],
        ["--json", "cr", "--bogus", "x"],
        ["cr", "-c"],
        ["cf", "--json"],
    ],
)
def test_argv_the_typer_app_refuses_never_takes_the_fast_path(argv: list[str]) -> None:
    with pytest.raises(_Refused):
        _typer_parse(argv)
    assert parse_fast_cf(argv) is None
    assert parse_fast_cr(argv) is None
