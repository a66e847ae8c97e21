"""Every bad input across every command: one sentence, a documented code, nothing started.

The battery of issue 15 (its 31 reported cases among them). Each case runs twice: as typed,
and with ``--json`` in front, where stdout must be exactly one JSON document (the error
envelope, whose exit code is the process's). Syncthing on PATH is a stand-in that only
records that it ran, so a case that would start or generate a config before validating is
caught.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.errors import ExitCode
from tests.engine.sessions_fixtures import SessionWriter

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

SID: Final = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"
_MAX_LINES: Final = 6  # a sentence and a hint; typer's usage panel is five lines


class Scratch(NamedTuple):
    home: Path
    cwd: Path
    started: Path  # exists once the Syncthing stand-in ran
    monkeypatch: pytest.MonkeyPatch  # root reads any file: a refusal is planted at the call


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


class Case(NamedTuple):
    argv: tuple[str, ...]
    code: ExitCode
    text: str = ""  # a few words the sentence must contain
    prepare: Callable[[Scratch], None] | None = None
    env: tuple[tuple[str, str], ...] = ()


def _a_file(s: Scratch) -> None:
    _write(s.home / "afile", "x")


def _paths_json(data: bytes) -> Callable[[Scratch], None]:
    return lambda s: _write(s.home / ".config" / "session-roam" / "paths.json", data)


def _config_toml(text: str | bytes) -> Callable[[Scratch], None]:
    return lambda s: _write(s.home / ".config" / "session-roam" / "config.toml", text)


def _settings_json(text: str) -> Callable[[Scratch], None]:
    return lambda s: _write(s.home / ".claude" / "settings.json", text)


def _index_is_a_folder(s: Scratch) -> None:
    (s.home / ".cache" / "session-roam" / "search.sqlite3").mkdir(parents=True)


def _project_folder(s: Scratch) -> Path:
    return SessionWriter(s.home / ".claude").folder(s.cwd.resolve())


def _session_unreadable(s: Scratch) -> None:
    """Opening the session file is refused, as for a file of another user's (mode 0600)."""
    from session_roam.engine.core import safefs

    path, real = _project_folder(s) / f"{SID}.jsonl", safefs.open_nofollow

    def refuse(target: Path | str, flags: int, *args: int) -> int:
        if str(target) == str(path):
            raise PermissionError(13, "Permission denied", str(target))
        return real(target, flags, *args)

    for module in ("search_extract", "search_index", "summary_read"):
        s.monkeypatch.setattr(f"session_roam.engine.sessions.{module}.open_nofollow", refuse)


def _project_folder_unreadable(s: Scratch) -> None:
    """Listing the project folder is refused, as for a folder of another user's (mode 0700)."""
    folder, real = _project_folder(s), os.scandir

    def refuse(target: Any = ".") -> Any:
        if str(target) == str(folder):
            raise PermissionError(13, "Permission denied", str(target))
        return real(target)

    s.monkeypatch.setattr(os, "scandir", refuse)


def _conflict_copy(s: Scratch) -> None:
    path = _project_folder(s) / f"{SID}.jsonl"
    copy = path.with_name(f"{SID}.sync-conflict-20260301-101500-ABCDEFG.jsonl")
    copy.write_bytes(path.read_bytes())
    SessionWriter(s.home / ".claude").append(copy, [("a turn written elsewhere", "ok")])


def _project_folder_read_only(s: Scratch) -> None:
    """A conflict copy to merge, in a folder the user may read but not write."""
    _conflict_copy(s)
    folder, real = _project_folder(s), os.access

    def access(target: Any, mode: int, **kwargs: Any) -> bool:
        if str(target) == str(folder) and mode & os.W_OK:
            return False
        return real(target, mode, **kwargs)

    s.monkeypatch.setattr(os, "access", access)


_INVALID, _SETUP, _NO_MATCH = ExitCode.INVALID_INPUT, ExitCode.SETUP, ExitCode.NO_MATCH
_RESULTS: Final = (ExitCode.OK, ExitCode.NO_MATCH, ExitCode.VERIFY_FAILED)  # not an envelope
CASES: Final = {
    # tracebacks before
    "setup-home-is-a-file": Case(
        ("setup", "--syncthing-home", "{home}/afile"), _INVALID, "is a file", _a_file
    ),
    "paths-json-not-utf8": Case(("paths", "list"), _INVALID, "not UTF-8", _paths_json(b"\xff{")),
    "paths-json-broken": Case(("ls",), _INVALID, "line 2", _paths_json(b'{"paths":\n[}')),
    "search-index-is-a-folder": Case(("cf", "hello"), _SETUP, "search index", _index_is_a_folder),
    "setup-address-without-device": Case(
        ("setup", "--address", "tcp://10.0.0.1:22000"), _INVALID, "--device-id"
    ),
    # "looks fine" before
    "ls-unreadable-session": Case(("ls",), ExitCode.OK, "cannot read", _session_unreadable),
    "cf-unreadable-session": Case(("cf", "pelican"), _NO_MATCH, "cannot read", _session_unreadable),
    "verify-unreadable-session": Case(
        ("verify", "--shell", "bash"), ExitCode.VERIFY_FAILED, SID, _session_unreadable
    ),
    "ls-unreadable-project-folder": Case(
        ("ls",), _SETUP, "permission denied", _project_folder_unreadable
    ),
    "merge-read-only-project-folder": Case(
        ("conflicts", "merge", SID), _SETUP, "read-only", _project_folder_read_only
    ),
    "claude-dir-is-a-file": Case(
        ("--claude-dir", "{home}/afile", "ls"), _INVALID, "not a folder", _a_file
    ),
    "claude-config-dir-env-is-a-file": Case(
        ("ls",), _INVALID, "not a folder", _a_file, (("CLAUDE_CONFIG_DIR", "{home}/afile"),)
    ),
    "merge-with-a-foreign-file": Case(
        ("conflicts", "merge", SID, "--with", "/etc/passwd"), _INVALID, "no record"
    ),
    "merge-with-a-missing-file": Case(
        ("conflicts", "merge", SID, "--with", "{home}/nope.jsonl"), _INVALID, "does not exist"
    ),
    "merge-with-a-folder": Case(
        ("conflicts", "merge", SID, "--with", "{home}"), _INVALID, "not a file"
    ),
    "watch-negative-debounce": Case(("watch", "--debounce", "-5"), _INVALID, "debounce"),
    "shell-install-empty-shell": Case(("shell", "install", "--shell", ""), _INVALID, "shell"),
    "shell-install-unknown-shell": Case(("shell", "install", "--shell", "tcsh"), _INVALID, "tcsh"),
    "config-toml-broken": Case(("status",), _INVALID, "line 1", _config_toml("agent = [broken")),
    "config-toml-not-utf8": Case(("lease", "status"), _INVALID, "UTF-8", _config_toml(b"\xff=1")),
    "config-toml-backups-not-a-table": Case(
        ("backups",), _INVALID, "not a table", _config_toml("backups = 5\n")
    ),
    "hooks-uninstall-hooks-not-object": Case(
        ("hooks", "uninstall"), _INVALID, "not a JSON object", _settings_json('{"hooks": 5}')
    ),
    "hooks-uninstall-settings-not-object": Case(
        ("hooks", "uninstall"), _INVALID, "JSON object", _settings_json("[1, 2]")
    ),
    "hooks-install-settings-broken": Case(
        ("hooks", "install"), _INVALID, "settings.json", _settings_json('{"hooks": ')
    ),
    "verify-unknown-shell": Case(("verify", "--shell", "fish-nope"), _INVALID, "fish-nope"),
    # exit codes that collided before
    "cf-no-match": Case(("cf", "zzzz"), _NO_MATCH, "matches"),
    "lease-release-bad-id": Case(("lease", "release", "../x"), _INVALID, "not a session id"),
    "lease-steal-bad-id": Case(("lease", "steal", "not-a-uuid"), _INVALID, "not a session id"),
    "lease-status-bad-id": Case(("lease", "status", "../../x"), _INVALID, "not a session id"),
    "lease-status-no-syncthing": Case(("lease", "status"), _SETUP, "ROAM_SYNCTHING_HOME"),
    # invalid ids, names and paths
    "cr-unknown-session": Case(("cr", "nosuchsession"), _INVALID, "No session matches"),
    "cr-path-as-session": Case(("cr", "../../etc"), _INVALID, "No session matches"),
    "cr-negative-timeout": Case(("cr", "--timeout", "-1"), _INVALID),
    "cr-timeout-not-a-number": Case(("cr", "--timeout", "soon"), _INVALID),
    "cr-two-sessions": Case(("cr", "a", "b"), _INVALID),
    "cfork-unknown": Case(("cfork", "nosuch"), _INVALID, "No session matches"),
    "cn-empty-name": Case(("cn", ""), _INVALID, "not a valid session name"),
    "cn-slash-in-name": Case(("cn", "a/b"), _INVALID, "not a valid session name"),
    "restore-bad-id": Case(("restore", "../x"), _INVALID, "not a session id"),
    "rm-bad-id": Case(("rm", "not-a-uuid"), _INVALID),
    "conflicts-show-outside": Case(("conflicts", "show", "../x"), _INVALID),
    "conflicts-merge-bad-id": Case(("conflicts", "merge", "not-a-uuid"), _INVALID),
    "conflicts-merge-id-and-all": Case(("conflicts", "merge", SID, "--all"), _INVALID),
    "conflicts-undo-bad-id": Case(("conflicts", "undo", "zzz"), _INVALID),
    "peers-add-bad-device": Case(("peers", "add", "NOT-A-DEVICE-ID"), _INVALID, "device ID"),
    "paths-map-relative": Case(("paths", "map", "relative", "/x"), _INVALID, "absolute"),
    "paths-unmap-unknown": Case(("paths", "unmap", "/never/mapped"), _INVALID, "No mapping"),
    "cf-negative-limit": Case(("cf", "--limit", "-3", "x"), _INVALID, "--limit"),
    "cf-zero-limit": Case(("cf", "--limit", "0", "x"), _INVALID, "--limit"),
    "cf-huge-limit": Case(("cf", "--limit", "20000", "x"), _INVALID, "at most 10,000"),
    "cf-nothing-to-search": Case(("cf", ""), _INVALID, "Nothing to search for"),
    # usage errors: the invalid-input code
    "unknown-command": Case(("nosuch",), _INVALID, "nosuch"),
    "unknown-option": Case(("ls", "--bogus"), _INVALID, "--bogus"),
    "unknown-group-option": Case(("backups", "--bogus"), _INVALID, "--bogus"),
    "demo-unknown-option": Case(("demo", "--bogus"), _INVALID, "--bogus"),
    "missing-subcommand-argument": Case(("journal", "show"), _INVALID),
    "cf-without-words": Case(("cf",), _INVALID, "keywords"),
    "cs-json-is-not-an-option": Case(("cs", "--json"), _INVALID, "--json"),
}


@pytest.fixture
def scratch(clean_environ: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scratch:
    cwd = tmp_path / "proj"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    writer = SessionWriter(clean_environ / ".claude")
    writer.write(cwd.resolve(), [("hello pelican", "ok")], session_id=SID)
    fake = tmp_path / "bin"
    fake.mkdir()
    started = tmp_path / "syncthing-ran"
    stand_in = fake / "syncthing"
    # asking its version starts nothing (setup's check of what is installed does it first)
    version = 'case "$1" in --version|version) exit 1;; esac\n'
    stand_in.write_text(f"#!/bin/sh\n{version}touch {started}\nexit 1\n")
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    monkeypatch.setenv("SHELL", "/bin/bash")
    monkeypatch.setenv("ROAM_NO_SYSTEMD", "1")
    return Scratch(clean_environ, cwd, started, monkeypatch)


def _run(scratch: Scratch, case: Case, *, as_json: bool) -> tuple[int, str, str, bool]:
    if case.prepare is not None:
        case.prepare(scratch)
    fill = {"home": str(scratch.home)}
    argv = [arg.format(**fill) for arg in case.argv]
    env = {name: value.format(**fill) for name, value in case.env}
    result = CliRunner().invoke(app, ["--json", *argv] if as_json else argv, env=env)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout, result.stderr, crashed


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gets_one_sentence_and_its_documented_code(name: str, scratch: Scratch) -> None:
    case = CASES[name]
    code, out, err, crashed = _run(scratch, case, as_json=False)
    shown = out + err
    assert not crashed, shown
    assert "Traceback" not in shown
    assert code == case.code, shown
    assert case.text in shown
    if "--json" not in case.argv and case.argv[0] != "verify":  # verify prints its report
        assert len(shown.strip().splitlines()) <= _MAX_LINES, shown
    if case.argv[0] in ("setup", "lease", "watch", "peers"):
        assert not scratch.started.exists(), "Syncthing ran before the input was validated"


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_under_json_is_one_document_on_stdout(name: str, scratch: Scratch) -> None:
    case = CASES[name]
    code, out, _, crashed = _run(scratch, case, as_json=True)
    assert not crashed
    assert code == case.code
    document = json.loads(out)  # exactly one document: json.loads refuses trailing data
    if case.code not in _RESULTS:  # no match is a result (an empty list), not an error
        error = document["error"]
        assert (error["exit_code"], document["schema"]) == (code, "roam.error/1")
        assert error["message"]
        assert error["hint"]


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (("status", "--json"), ExitCode.SETUP),
        (("lease", "status", "--json"), ExitCode.SETUP),
        (("peers", "list", "--json"), ExitCode.SETUP),
        (("ls", "--json"), ExitCode.INVALID_INPUT),  # with --claude-dir naming a file
        (("cf", "", "--json"), ExitCode.INVALID_INPUT),
        (("ls", "--bogus", "--json"), ExitCode.INVALID_INPUT),
        (("nosuch", "--json"), ExitCode.INVALID_INPUT),
        (("lease", "release", "../x", "--json"), ExitCode.INVALID_INPUT),
    ],
)
def test_json_after_the_command_name_gives_the_envelope_too(
    argv: tuple[str, ...], code: ExitCode, scratch: Scratch
) -> None:
    _a_file(scratch)
    env = {"CLAUDE_CONFIG_DIR": str(scratch.home / "afile")} if argv[0] == "ls" else {}
    result = CliRunner().invoke(app, list(argv), env=env)
    assert result.exit_code == code, result.output
    assert json.loads(result.stdout)["error"]["exit_code"] == code


def test_version_under_json_is_a_document(scratch: Scratch) -> None:
    result = CliRunner().invoke(app, ["--version", "--json"])
    document = json.loads(result.stdout)
    assert (result.exit_code, document["schema"]) == (0, "roam.version/1")


def test_a_bug_under_json_is_still_one_document_and_exit_1(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from session_roam.engine import sessions

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(sessions, "stream_json_texts", broken)
    result = CliRunner().invoke(app, ["ls", "--json"])
    assert result.exit_code == 1  # 1 means a bug, and only that
    error = json.loads(result.stdout)["error"]
    assert (error["code"], error["type"]) == ("failure", "ZeroDivisionError")


def test_a_bug_while_ls_json_reads_its_first_rows_is_still_one_document(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from session_roam.engine import sessions

    def broken(*_args: object, **_kwargs: object) -> Iterator[str]:
        yield '{"session_id": "a"}'
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(sessions, "stream_json_texts", broken)
    result = CliRunner().invoke(app, ["ls", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "ZeroDivisionError"


def test_a_read_only_project_folder_leaves_no_backup_of_a_merge_that_never_ran(
    scratch: Scratch,
) -> None:
    from session_roam.engine.core import xdg

    _project_folder_read_only(scratch)
    result = CliRunner().invoke(app, ["conflicts", "merge", SID])
    assert result.exit_code == ExitCode.SETUP, result.output
    assert not (xdg.state_dir() / "backups" / SID).exists()
    assert len(list(_project_folder(scratch).glob(f"{SID}*.jsonl"))) == 2  # both untouched


def test_a_write_refused_half_way_is_a_merge_error_naming_the_backup(scratch: Scratch) -> None:
    from session_roam.engine.conflicts import merging

    _conflict_copy(scratch)  # the folder looks writable; the write itself is refused

    def refuse(target: Path, _data: bytes) -> None:
        raise PermissionError(13, "Permission denied", str(target))

    scratch.monkeypatch.setattr(merging, "atomic_write", refuse)
    result = CliRunner().invoke(app, ["--json", "conflicts", "merge", SID])
    error = json.loads(result.stdout)["error"]
    assert (result.exit_code, error["exit_code"]) == (ExitCode.MERGE, ExitCode.MERGE)
    assert "backup" in error["message"]


def test_ls_json_marks_an_unreadable_session(scratch: Scratch) -> None:
    _session_unreadable(scratch)
    result = CliRunner().invoke(app, ["ls", "--json"])
    (row,) = json.loads(result.stdout)
    assert (result.exit_code, row["unreadable"], row["turns"]) == (0, "Permission denied", 0)


def test_cs_lists_an_unreadable_session_as_unreadable_not_empty(scratch: Scratch) -> None:
    from session_roam.cli.browse import fzf_lines
    from session_roam.engine.sessions import PathMap, list_summaries

    _session_unreadable(scratch)
    summaries = list_summaries(scratch.home / ".claude", PathMap(), cwd=scratch.cwd)
    assert fzf_lines(summaries).split("\t")[2] == "unreadable"


@pytest.mark.parametrize("group", ["journal", "lease", "peers", "conflicts", "hooks"])
def test_a_group_without_its_subcommand_under_json_is_one_envelope(group: str) -> None:
    result = CliRunner().invoke(app, ["--json", group])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert json.loads(result.stdout)["error"]["message"] == "Missing command."
