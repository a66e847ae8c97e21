"""Every string that came from a file reaches a person's terminal as text (issue 22).

A title, prompt, cwd, file name, machine name or claim field may come from a hostile peer.
Whatever it holds, no human-readable renderer may raise (rich's MarkupError on ``[/bold]``
included) or let a control or bidi character through; ``--json`` keeps the exact string.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from session_roam.cli import output, resume, search, sessions, sync, verify
from session_roam.cli.app import app
from session_roam.cli.output import SafeConsole, plain, print_error
from session_roam.cli.resume import TerminalUI
from session_roam.engine.lease.model import Claim, ClaimState, ClaimView
from session_roam.engine.lease.prompt_guard import sentence
from session_roam.engine.resume.awareness_model import Awareness, PeerView
from session_roam.engine.sessions.listing import SessionSummary
from session_roam.engine.sessions.search import Match
from session_roam.engine.verify.model import Finding, Status, VerifyReport
from session_roam.engine.verify.status import FolderReport, PeerReport, StatusReport
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from tests.engine.sessions_fixtures import SessionWriter

# What no renderer may print: C0 but newline, DEL, C1, bidi controls and invisible separators.
_FORBIDDEN: Final = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)
# rich's own styling on a terminal (SGR): the only escape sequence our output may contain.
_SGR: Final = re.compile("\x1b\\[[0-9;]*m")

_HOSTILE: Final = (
    "\x1b]52;c;c2VjcmV0\x07",  # OSC 52: write the clipboard
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b[?1049h",  # alternate screen
    "\x9b31m",  # C1 CSI
    "\u202egnp.exe",  # bidi override
    "[/bold]",
    "[link=https://evil.example]click[/link]",
    "[bold red]",
)
_texts: Final = st.one_of(
    st.sampled_from(_HOSTILE),
    st.text(),
    st.text(alphabet=st.sampled_from(list("[]/\\=ab \x1b\x07\x9b\u202e\u2066\n\r\t"))),
).map(lambda s: s[:200])


def _terminal(monkeypatch: pytest.MonkeyPatch, module: object) -> None:
    """Render as on a colour terminal, where rich would otherwise pass escapes on."""

    def make(stderr: bool = False) -> Console:
        return SafeConsole(
            stderr=stderr, force_terminal=True, color_system="truecolor", markup=False, width=160
        )

    monkeypatch.setattr(module, "console", lambda: make(), raising=False)
    monkeypatch.setattr(module, "err_console", lambda: make(stderr=True), raising=False)


def _summary(text: str) -> SessionSummary:
    return SessionSummary(
        session_id="0" * 8 + text[:4],
        path=Path("/nowhere/s.jsonl"),
        project="-p",
        cwd=text,
        local_cwd=text,
        title=text,
        first_prompt=text,
        last_prompt=text,
        last_activity="2026-01-01T00:00:00Z",
        mtime=0.0,
        turns=1,
        size=10,
        conflict_copies=0,
        last_writer=text,
        lease_holder=text or None,
    )


def _render_ls(text: str) -> None:
    sessions._render_table([_summary(text)], all_projects=True)


def _render_cf(text: str) -> None:
    match = Match("s", "p", "-p", text, text, "2026", "user", text + " x", ((0, 2),), 1.0)
    search.print_matches((match,))


def _render_verify(text: str) -> None:
    finding = Finding("leases", Status.FAIL, text, fix=text, subject=text)
    verify.render(VerifyReport(findings=(finding,)))


def _render_error(text: str) -> None:
    print_error(InvalidInput(f"No session is named {text}.", hint=text), as_json=False)


def _render_warning(text: str) -> None:
    TerminalUI().warn(text)


def _render_status(text: str) -> None:
    """``roam status``: a peer's name, the last file received, the cluster's machine names."""
    peer = PeerReport("P" * 7, text, True, False, text, 1, 2, 0)
    folder = FolderReport("roam", text, "idle", 1, 1, 0, 0, text, text)
    cluster = Awareness((PeerView("P" * 7, text, text, text),))
    report = StatusReport("v", "D", "u", True, text, folder, (peer,), 0, (text,), cluster=cluster)
    sync._render_status(report)


def _render_prompt_guard(text: str) -> None:
    """The old holder's sentence, which Claude Code prints as it is: a claim's name and time."""
    claim = Claim("s", "P" * 7, 2, ClaimState.HELD, 30.0, 1, name=text, since=text)
    sys.stderr.write(sentence("s", ClaimView("P" * 7, claim)) + "\n")


_RENDERERS: Final[dict[str, tuple[Callable[[str], None], object]]] = {
    "ls": (_render_ls, sessions),
    "cf": (_render_cf, sessions),
    "verify": (_render_verify, verify),
    "error": (_render_error, output),
    "warning": (_render_warning, resume),
    "status": (_render_status, sync),
    "prompt-guard": (_render_prompt_guard, sync),
}


@pytest.mark.parametrize("name", sorted(_RENDERERS))
@pytest.mark.parametrize("terminal", [False, True], ids=["pipe", "terminal"])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_texts)
def test_no_renderer_raises_or_prints_a_control_character_whatever_a_file_holds(
    name: str,
    terminal: bool,
    text: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    render, module = _RENDERERS[name]
    if terminal:
        _terminal(monkeypatch, module)
    render(text)
    captured = capsys.readouterr()
    shown = _SGR.sub("", captured.out + captured.err)
    # Rows into a pipe are tab-separated by us: every such line has the same columns, so no
    # tab of a cell got through; the rest of the output holds no tab at all.
    assert len({line.count("\t") for line in shown.splitlines() if "\t" in line}) <= 1
    shown = shown.replace("\t", "")
    assert _FORBIDDEN.search(shown) is None, repr(shown)
    assert "evil.example\x1b" not in shown


def test_a_hostile_title_is_shown_with_its_escapes_written_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _render_cf("\x1b]52;c;c2VjcmV0\x07 [/bold] \u202e")
    out = capsys.readouterr().out
    assert "\\x1b]52;c;c2VjcmV0\\x07 [/bold] \\u202e" in out


@given(text=st.text())
def test_plain_leaves_nothing_invisible_and_changes_printable_text_not_at_all(text: str) -> None:
    shown = plain(text)
    assert _FORBIDDEN.search(shown) is None
    assert "\n" not in shown
    if _FORBIDDEN.search(text) is None and "\n" not in text:
        assert shown == text


def test_json_keeps_the_exact_string(capsys: pytest.CaptureFixture[str]) -> None:
    hostile = "\x1b[2J[/bold]\u202e"
    print_error(InvalidInput(hostile), as_json=True)
    assert json.loads(capsys.readouterr().out)["error"]["message"] == hostile


_PLANTED: Final = "\x1b]52;c;c2VjcmV0\x07[/bold]\x1b[2J\u202e[link=https://evil.example]x[/link]"


@pytest.mark.parametrize(
    "argv",
    [
        ("ls",),
        ("ls", "--all"),
        ("cf", "pelican"),
        ("cr", "[/bold]\x1b[2J"),  # the error names what was asked for, and the titles there are
        ("conflicts", "list", "--all"),
    ],
    ids=lambda argv: " ".join(argv).encode("unicode_escape").decode(),
)
def test_a_hostile_title_and_prompt_reach_no_command_output_raw(
    argv: tuple[str, ...], writer: SessionWriter, cwd: Path
) -> None:
    writer.write(cwd, [(f"pelican {_PLANTED}", "ok")], title=_PLANTED)
    result = CliRunner().invoke(app, list(argv), env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    shown = result.stdout + result.stderr
    assert _FORBIDDEN.search(shown) is None, repr(shown)
    assert result.exit_code in (0, 2), shown


def test_json_output_keeps_a_hostile_title_exactly(writer: SessionWriter, cwd: Path) -> None:
    writer.write(cwd, [("pelican", "ok")], title=_PLANTED)
    result = CliRunner().invoke(app, ["ls", "--json"])
    assert json.loads(result.stdout)[0]["title"] == _PLANTED


def test_the_fzf_list_shows_a_hostile_title_escaped() -> None:
    from session_roam.cli.browse import fzf_lines

    summary = dataclasses.replace(_summary(_PLANTED), session_id="0" * 8)  # ids are UUIDs
    lines = fzf_lines((summary,))
    assert _FORBIDDEN.search(lines.replace("\t", " ")) is None
    assert "\\x1b]52" in lines


def test_piped_rows_keep_their_own_tabs_and_show_a_cells_controls(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output.print_tsv(output.console(), ("beta\tfake-column\x1b[2J", "ABCDEFG"))
    assert capsys.readouterr().out == "beta\\x09fake-column\\x1b[2J\tABCDEFG\n"


def test_conflicts_list_into_a_pipe_is_tab_separated(tmp_path: Path, clean_environ: Path) -> None:
    from session_roam.engine.core.paths import claude_config_dir

    sid = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"
    project = claude_config_dir() / "projects" / "-p"
    project.mkdir(parents=True)
    (project / f"{sid}.jsonl").write_text('{"type":"summary"}\n')
    (project / f"{sid}.sync-conflict-20261125-120000-AAAAAAA.jsonl").write_text("{}\n")
    result = CliRunner().invoke(app, ["conflicts", "list", "--all"])
    assert f"{sid}\t1\t-p\n" in result.output
