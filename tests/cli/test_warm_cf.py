"""The warm `roam cf --json [--all]`: the lookup alone behind `roam watch`, the same output."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from session_roam.cli import fast
from session_roam.cli.fast import dumps, parse_fast_cf
from session_roam.engine.core import xdg
from session_roam.engine.core.paths import claude_config_dir, projects_dir
from session_roam.engine.sessions import refresh_search_index
from tests.engine.sessions_fixtures import SessionWriter

if TYPE_CHECKING:
    from pathlib import Path

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


@settings(deadline=None)  # the machine may be loaded
@given(_JSON)
def test_dumps_writes_what_json_dumps_writes(value: object) -> None:
    assert dumps(value) == json.dumps(value, indent=2, sort_keys=True)


def test_dumps_escapes_every_character_as_json_dumps_does() -> None:
    every = [chr(code) for code in range(0x110000)]
    assert dumps(every) == json.dumps(every, indent=2, sort_keys=True)


def test_an_astral_character_does_not_change_how_a_later_one_is_escaped() -> None:
    table = fast._Escapes()  # a fresh cache: U+10398 is filed under its own code, not U+0398's
    text = "\U00010398\u0398"
    assert text.translate(table) == json.dumps(text)[1:-1]


@pytest.mark.parametrize(
    "argv",
    [
        ["cf", "--all", "word"],  # for a person
        ["--claude-dir", "/elsewhere", "cf", "--json", "--all", "word"],  # not the cache's
        ["cf", "--json", "--all", "--", "word"],
        ["cf", "--json", "--all", "--limit", "x", "word"],
        ["cf", "--json", "--all"],
        ["ls", "--json", "--all"],
    ],
)
def test_the_warm_search_leaves_other_command_lines_to_the_rest_of_the_fast_path(
    argv: list[str],
) -> None:
    options = parse_fast_cf(argv)
    assert options is None or options["claude_dir"] is not None


def test_the_warm_search_reads_words_and_limit() -> None:
    options = parse_fast_cf(["cf", "rate", "-a", "limit", "--json", "-n", "5"])
    assert options is not None
    assert (options["words"], options["limit"], options["all"]) == (["rate", "limit"], 5, True)


#: The full typer app, which never takes the warm search (the reference for its output).
_FAST = ("-c", "import sys; from session_roam.cli.app import main; sys.argv[0] = 'roam'; main()")
_WARM = ("-m", "session_roam")


def _roam(entry: tuple[str, ...], args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, *entry, *args]  # the environment is inherited as it is
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("word", ["pelican", "absent", '"unbalanced'])
def test_warm_cf_behind_a_watcher_prints_what_the_fast_path_prints(
    clean_environ: Path, tmp_path: Path, word: str
) -> None:
    cwd = tmp_path / "proj"
    cwd.mkdir()
    made = SessionWriter(clean_environ / ".claude").write(cwd.resolve(), [("a pelican", "ok")])
    args = ["cf", "--json", "--all", word]
    _roam(_FAST, args, cwd)  # builds the index
    assert refresh_search_index(projects_dir(claude_config_dir()), [made], xdg.cache_dir())
    fast = _roam(_FAST, args, cwd)  # one walk after the watcher started: trusted from now on
    warm = _roam(_WARM, [*args, "--limit", "20"], cwd)
    assert (warm.returncode, warm.stdout) == (fast.returncode, fast.stdout)


def test_warm_cf_loads_no_typing_json_datetime_or_indexer(
    clean_environ: Path, tmp_path: Path
) -> None:
    made = SessionWriter(clean_environ / ".claude").write(tmp_path, [("a pelican", "ok")])
    args = ["cf", "--json", "--all", "pelican"]
    _roam(_FAST, args, tmp_path)
    assert refresh_search_index(projects_dir(claude_config_dir()), [made], xdg.cache_dir())
    _roam(_FAST, args, tmp_path)
    script = "import sys; from session_roam.cli.fast import main; sys.argv[0] = 'roam'; main()"
    # what the console script runs (``python -m`` would load more itself, in runpy)
    warm = _roam(("-X", "importtime", "-c", script), args, tmp_path)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in warm.stderr.splitlines()}
    assert json.loads(warm.stdout)[0]["session_id"] == made.stem
    assert not loaded & {
        "typing",
        "json",
        "datetime",  # sqlite3's adapters: the warm search uses the C module alone
        "session_roam.engine.sessions.search_index",
    }


def _watched_projects(home: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A project directory and its session, another project's session, an index built by the
    full app and a watcher's mark on it: the warm search trusts it from now on."""
    writer = SessionWriter(home / ".claude")
    cwd, other = tmp_path / "proj", tmp_path / "other"
    cwd.mkdir()
    other.mkdir()
    made = writer.write(cwd.resolve(), [("a pelican", "ok")])
    writer.write(other.resolve(), [("a pelican too", "ok")])
    _roam(_FAST, ["cf", "--json", "--all", "pelican"], cwd)  # builds the index
    assert refresh_search_index(projects_dir(claude_config_dir()), [made], xdg.cache_dir())
    _roam(_FAST, ["cf", "--json", "--all", "pelican"], cwd)  # the walk after the watcher's mark
    return cwd, made


@pytest.mark.parametrize("word", ["pelican", "absent", '"unbalanced'])
def test_warm_scoped_cf_prints_what_the_full_app_prints(
    clean_environ: Path, tmp_path: Path, word: str
) -> None:
    cwd, _ = _watched_projects(clean_environ, tmp_path)
    full = _roam(_FAST, ["cf", "--json", word], cwd)
    warm = _roam(_WARM, ["cf", "--json", word], cwd)
    assert (warm.returncode, warm.stdout) == (full.returncode, full.stdout)


def test_warm_scoped_cf_is_the_lookup_alone(clean_environ: Path, tmp_path: Path) -> None:
    cwd, made = _watched_projects(clean_environ, tmp_path)
    script = "import sys; from session_roam.cli.fast import main; sys.argv[0] = 'roam'; main()"
    warm = _roam(("-X", "importtime", "-c", script), ["cf", "--json", "pelican"], cwd)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in warm.stderr.splitlines()}
    assert [match["session_id"] for match in json.loads(warm.stdout)] == [made.stem]
    assert not loaded & {"typing", "json", "session_roam.engine.sessions.pathmap"}


def test_scoped_cf_with_path_mappings_is_left_to_the_full_search(
    clean_environ: Path, tmp_path: Path
) -> None:
    cwd, made = _watched_projects(clean_environ, tmp_path)
    folder = clean_environ / ".config" / "session-roam"
    folder.mkdir(parents=True, exist_ok=True)
    mapped = tmp_path / "elsewhere"
    (folder / "paths.json").write_text(
        json.dumps({"paths": [{"from": str(mapped), "to": str(cwd)}]})
    )
    mine = SessionWriter(clean_environ / ".claude").write(mapped, [("a pelican", "ok")], exact=True)
    assert refresh_search_index(projects_dir(claude_config_dir()), [mine], xdg.cache_dir())
    warm = _roam(_WARM, ["cf", "--json", "pelican"], cwd)
    assert sorted(match["session_id"] for match in json.loads(warm.stdout)) == sorted(
        [made.stem, mine.stem]
    )
