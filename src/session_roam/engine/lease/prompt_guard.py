"""The old holder is told: roam's UserPromptSubmit hook stops a claude whose lease was taken over.

A laptop closed mid-session keeps its claude open under the lid. If another machine then takes
the session over (``roam cr --force``, or the question on a terminal), the laptop's claude, once
the lid opens, would go on writing a copy that is no longer the conversation. ``roam cr`` gives
the claude it starts one extra hook through claude's ``--settings`` option (the user's
settings.json is not touched): before each prompt, if another machine has taken the session,
the prompt is stopped (exit 2: the real client 2.1.331 makes no model call and shows the
sentence) with one sentence saying where the session continued, since when, and to exit and run
``roam cr``.

A hook runs on every prompt, so its fast path is a shell test, not Python: ``find`` lists the
other machines' claim files whose inode changed (ctime, this machine's clock: Syncthing copies
the writer's mtime, never its ctime) after a reference file roam wrote when the lease was
granted. Nothing listed, nothing to check: exit 0 in a few ms. Otherwise Python reads the claims
and decides (``overtaker``); a claim that changed without taking anything over (a machine that
tried and lost) refreshes the reference file, so the fast path is fast again.

Measured: the block itself appends rows to the session file (a ``system`` row "UserPromptSubmit
operation blocked by hook", ``last-prompt``, ``mode``, ``cost-state``); the merge of forks
inside one file has to expect those late rows from the old holder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.paths import validate_session_id
from session_roam.engine.lease.claim_files import read_claim_files
from session_roam.engine.lease.handover import holder_label, when
from session_roam.engine.lease.model import Claim, ClaimState, ClaimView, parse_claim
from session_roam.engine.lease.protocol import overtaken_by
from session_roam.visible import plain

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "EXIT_BLOCK",
    "Armed",
    "arm",
    "main",
    "overtaker",
    "read_claims",
    "sentence",
    "takes_later_prompts",
]

#: What Claude Code takes from a UserPromptSubmit hook as "stop this prompt, show stderr".
EXIT_BLOCK: Final = 2


def read_claims(folder: Path, session: str) -> list[ClaimView]:
    """The session's claim files in ``folder`` (``<projects>/.roam/leases/<session>``), read
    like any peer state (``lease.claim_files``: nothing through a link, none missed while
    Syncthing replaces one); an unreadable one is no claim here."""
    try:
        files = read_claim_files(folder.parents[2], folder)
    except OSError:
        return []
    views: list[ClaimView] = []
    for device, raw in sorted(files.items()):
        if not raw:
            continue
        try:
            views.append(ClaimView(device, parse_claim(raw, session=session, device=device)))
        except ValueError as exc:
            views.append(ClaimView(device, None, error=str(exc)))
    return views


def takes_later_prompts(claude_args: Sequence[str]) -> bool:
    """Can this claude be given a prompt after it has started (the guard's only moment)?

    Not ``-p PROMPT``: its one prompt is submitted as it starts, right after roam won the
    lease, so the hook would check a grant a few milliseconds old (and cost the run ~20 ms:
    a shell, ``find``, measured against the real client). ``-p --input-format stream-json``
    reads further prompts from stdin: those are guarded like a terminal's.
    """
    args = list(claude_args)
    if not any(arg in ("-p", "--print") for arg in args):
        return True
    return any(
        arg == "--input-format=stream-json"
        or (arg == "--input-format" and args[i + 1 : i + 2] == ["stream-json"])
        for i, arg in enumerate(args)
    )


def overtaker(mine: Claim, views: Sequence[ClaimView]) -> ClaimView | None:
    """The claim of the machine that has this session now, when it is not us any more.

    Taken over means: a steal of our holding (``roam cr --force``), another machine holding with
    a ticket above ours (it won after our claim expired), or another machine that released a
    holding it got after ours (its stamp's ticket is above ours). A machine that only tried and
    lost has a higher ticket too, but no holding and no stamp above ours: not a take-over.
    """
    stolen = overtaken_by(mine, views)
    if stolen is not None:
        return stolen
    for view in views:
        claim = view.claim
        if claim is None or view.device == mine.device or claim.ticket <= mine.ticket:
            continue
        later_stamp = claim.release is not None and claim.release.ticket > mine.ticket
        if claim.state is ClaimState.HELD or later_stamp:
            return view
    return None


def sentence(session: str, taker: ClaimView) -> str:
    """The one sentence the old holder reads in its claude."""
    claim = taker.claim
    since = ""
    if claim is not None and claim.since:
        # A released claim's time is its release; a holding's is when it was taken.
        done = claim.state is ClaimState.RELEASED
        since = (
            f" (released there at {when(claim.since)})" if done else f" since {when(claim.since)}"
        )
    # The machine's name and time come from a peer's claim: Claude Code shows this raw.
    return plain(
        f"roam: session {session} continued on {holder_label(taker)}{since}, so this copy is "
        "out of date: exit this claude and run `roam cr` to continue it with every turn."
    )


def check(session: str, device: str, folder: Path, ref: Path) -> str | None:
    """The sentence when the session was taken over from ``device``, else None (and the
    reference file is refreshed, so the next prompt takes the fast path again)."""
    views = read_claims(folder, validate_session_id(session))
    mine = next((v.claim for v in views if v.device == device and v.claim is not None), None)
    taker = None if mine is None else overtaker(mine, views)
    if taker is not None:
        return sentence(session, taker)
    with contextlib.suppress(OSError):
        os.utime(ref)
    return None


class Armed:
    """The hook of one ``roam cr`` run: its reference file and claude's extra arguments."""

    def __init__(self, ref: Path, args: tuple[str, ...]) -> None:
        self.ref = ref
        self.args = args

    def disarm(self) -> None:
        """Remove the reference file (roam's own state, never a session file)."""
        with contextlib.suppress(FileNotFoundError):
            self.ref.unlink()


def arm(session: str, device: str, projects: Path, state: Path) -> Armed:
    """Write the reference file now (the lease was just granted) and build claude's
    ``--settings`` JSON carrying the hook."""
    session = validate_session_id(session)
    folder = projects / ".roam" / "leases" / session
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    ref = state / f"{session}.{os.getpid()}.ref"
    fd = os.open(ref, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.close(fd)
    slow = [sys.executable, "-I", "-m", __name__]
    slow += ["--session", session, "--device", device, "--folder", str(folder), "--ref", str(ref)]
    fast = (
        # a claim Syncthing is replacing is for a moment only its temp (lease.claim_files)
        f'[ -z "$(find {shlex.quote(str(folder))} -maxdepth 1 '
        "\\( -name '*.json' -o -name '.syncthing.*.json.tmp' \\) "
        f"! -name {shlex.quote(device + '.json')} -cnewer {shlex.quote(str(ref))} "
        '2>/dev/null)" ] && exit 0; exec ' + shlex.join(slow)
    )
    hook = {"type": "command", "command": fast, "timeout": 10}
    settings = {"hooks": {"UserPromptSubmit": [{"hooks": [hook]}]}}
    return Armed(ref, ("--settings", json.dumps(settings, separators=(",", ":"))))


def main(argv: Sequence[str] | None = None) -> int:
    """The slow path: exit 2 with the sentence on stderr, or 0. Never fails otherwise: a
    broken guard must not stop a person from typing."""
    import argparse  # the hook's own process only, not roam cr's start-up

    parser = argparse.ArgumentParser(prog="roam-prompt-guard")
    for option in ("--session", "--device", "--folder", "--ref"):
        parser.add_argument(option, required=True)
    args = parser.parse_args(argv)
    try:
        told = check(args.session, args.device, Path(args.folder), Path(args.ref))
    except Exception as exc:  # the hook must never stop claude by crashing
        print(plain(f"roam: could not check the lease ({exc})"), file=sys.stderr)
        return 0
    if told is None:
        return 0
    print(told, file=sys.stderr)
    return EXIT_BLOCK


if __name__ == "__main__":
    sys.exit(main())
