"""``roam cs``'s two pickers: fzf when it is installed, a numbered list when it is not.

Both end in the same place: ``roam cr``'s code path with the chosen full id, so browsing never
skips the lease. The fzf preview reads small text files written up front into a private temp
folder, so moving through the list costs fzf a ``cat``, not a Python start-up per keystroke.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.launched import exit_code_after_claude
from session_roam.cli.output import err_console, plain
from session_roam.engine.sessions import SessionSummary, conversation_preview
from session_roam.errors import InvalidInput

__all__ = ["browse_and_resume", "choose_builtin", "fzf_lines"]

_CANCELLED: Final = 0


def _label(summary: SessionSummary) -> str:
    """The name or first prompt, after where the session is live now (issue 17's live view)."""
    text = summary.title or summary.first_prompt or "(no prompt yet)"
    holder = summary.lease_holder
    live = (
        f"[{'claude running' if summary.claude_running else 'leased'} on {holder}] "
        if holder
        else ""
    )
    return plain(live + " ".join(text.split()))


def fzf_lines(summaries: tuple[SessionSummary, ...]) -> str:
    """One tab-separated line per session: id (hidden), when, turns, label, last prompt."""
    lines = []
    for s in summaries:
        when = (s.last_activity or "")[:16].replace("T", " ")
        last = plain(" ".join((s.last_prompt or "").split()))
        turns = "unreadable" if s.unreadable else f"{s.turns:>3} turns"  # not an empty one
        lines.append(f"{s.session_id}\t{when}\t{turns}\t{_label(s)}\t{last}")
    return "\n".join(lines) + "\n"


def _write_previews(folder: Path, summaries: tuple[SessionSummary, ...]) -> None:
    for s in summaries:
        # fzf shows the preview through `cat`: file content is escaped here, as on any console
        where = plain(s.local_cwd or s.cwd or "")
        head = f"{s.session_id}  {plain(s.title or '')}\n{where}\n\n"
        (folder / f"{s.session_id}.txt").write_text(
            head + plain(conversation_preview(s.path), newlines=True), encoding="utf-8"
        )


def _choose_fzf(fzf: str, summaries: tuple[SessionSummary, ...]) -> str | None:
    with tempfile.TemporaryDirectory(prefix="roam-cs-") as folder:
        _write_previews(Path(folder), summaries)
        done = subprocess.run(
            [
                fzf,
                "--delimiter=\t",
                "--with-nth=2..",
                "--no-sort",
                "--header=enter: resume (through the lease)   esc: quit",
                f"--preview=cat -- {folder}/{{1}}.txt",
                "--preview-window=down:50%:wrap",
            ],
            input=fzf_lines(summaries),
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
    if done.returncode != 0 or not done.stdout.strip():
        return None
    return done.stdout.split("\t", 1)[0].strip()


def choose_builtin(summaries: tuple[SessionSummary, ...], answer: str) -> str | None:
    """The session a typed answer picks: its number in the list, or an id prefix (4+)."""
    text = answer.strip()
    if not text or text.lower() in {"q", "quit"}:
        return None
    if text.isdigit():
        number = int(text)
        if 1 <= number <= len(summaries):
            return summaries[number - 1].session_id
        raise InvalidInput(
            f"There is no session number {number}; pick 1 to {len(summaries)}.",
            hint="Run `roam cs` again.",
        )
    hits = [s.session_id for s in summaries if len(text) >= 4 and s.session_id.startswith(text)]
    if len(hits) == 1:
        return hits[0]
    raise InvalidInput(
        f"{text!r} does not pick one session ({len(hits)} match).",
        hint="Type the number shown in front of the session.",
    )


def _choose_builtin_interactive(summaries: tuple[SessionSummary, ...]) -> str | None:
    err = err_console()
    for number, s in enumerate(summaries, start=1):
        when = (s.last_activity or "")[:16].replace("T", " ")
        err.print(f"{number:>3}  {s.session_id[:8]}  {when}  {_label(s)[:70]}", markup=False)
        if s.last_prompt and s.last_prompt != s.first_prompt:
            err.print(f"       last: {plain(s.last_prompt[:80])}", markup=False)
    while True:
        try:
            answer = input("Resume which? (number; p NUMBER previews; empty quits) ")
        except EOFError:
            return None
        parts = answer.split()
        if len(parts) == 2 and parts[0] == "p" and parts[1].isdigit():
            index = int(parts[1]) - 1
            if 0 <= index < len(summaries):
                err.print(conversation_preview(summaries[index].path, max_rows=12), markup=False)
            continue
        return choose_builtin(summaries, answer)


def browse_and_resume(
    ctx: typer.Context, summaries: tuple[SessionSummary, ...], *, use_fzf: bool = True
) -> int:
    """Let the user pick, then resume through ``roam cr``; returns the exit code."""
    if not summaries:
        err_console().print(
            "No sessions here to browse. `roam cs --all` shows every project's.", markup=False
        )
        return 1
    fzf = shutil.which("fzf") if use_fzf else None
    if fzf is not None and sys.stdin.isatty() and sys.stdout.isatty():
        chosen = _choose_fzf(fzf, summaries)
    else:
        chosen = _choose_builtin_interactive(summaries)
    if chosen is None:
        return _CANCELLED
    from session_roam.cli.resume import TerminalUI
    from session_roam.engine.resume import CrOptions, run_cr

    ui = TerminalUI()
    try:
        outcome = run_cr(
            CrOptions(cwd=Path.cwd(), claude_dir=settings_of(ctx).claude_dir, query=chosen), ui
        )
    finally:
        ui.close()
    return exit_code_after_claude(outcome.exit_code, outcome.signals)
