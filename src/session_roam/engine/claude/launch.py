"""Run the real ``claude`` as a child that owns the terminal, and hand back how it ended.

roam must outlive claude so that it can release the lease on every exit path, so claude is a
child (never ``exec``). The child shares the terminal and the process group: a Ctrl-C typed at
the terminal reaches claude straight from the tty driver, so roam does not forward that SIGINT a
second time (claude treats two quick Ctrl-Cs as "quit"). A signal sent to roam by ``kill``
(SIGTERM, SIGHUP, or SIGINT when roam is not the terminal's foreground job) is forwarded to
claude, and roam keeps waiting so that the caller's ``finally`` runs only once claude is gone.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Final

from session_roam.errors import ClaudeMissing

__all__ = ["FORWARDED_SIGNALS", "ChildExit", "find_claude", "run_child"]

log = logging.getLogger(__name__)

#: Signals roam passes on to claude. SIGHUP matters: a closed terminal, a dropped SSH link or a
#: killed tmux pane must still end with the lease released.
FORWARDED_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_ENV_BIN: Final = "ROAM_CLAUDE_BIN"

_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


@dataclass(frozen=True, slots=True)
class ChildExit:
    """How the child ended.

    ``exit_code`` follows the shell's convention (128 + N when a signal killed the child), so it
    can be handed straight to ``sys.exit``. ``signals`` lists the signals roam itself received
    while the child ran, in order: the caller journals them and may pick its own exit code.
    """

    exit_code: int
    signals: tuple[int, ...] = ()


def find_claude(env: Mapping[str, str] | None = None) -> Path:
    """The claude binary: ``$ROAM_CLAUDE_BIN`` when set, else the first ``claude`` on PATH."""
    environ = os.environ if env is None else env
    explicit = environ.get(_ENV_BIN, "").strip()
    if explicit:
        candidate = Path(explicit).expanduser()
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
        raise ClaudeMissing(f"{_ENV_BIN} points at {candidate}, which is not an executable file.")
    found = shutil.which("claude", path=environ.get("PATH"))
    if found is None:
        raise ClaudeMissing("Claude Code (`claude`) is not installed or not on PATH.")
    return Path(found)


def _terminal_sends_sigint() -> bool:
    """True when a SIGINT most likely came from Ctrl-C at our terminal, which claude also got.

    That is the case when stdin is a tty whose foreground process group is ours (the child is in
    it too). Anything else, such as a test harness or ``kill -INT``, reaches roam alone.
    """
    try:
        fd = sys.stdin.fileno()
        return os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except (OSError, ValueError):
        return False


@contextmanager
def _forwarding(child: subprocess.Popen[bytes], received: list[int]) -> Iterator[None]:
    def forward(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if signum == signal.SIGINT and _terminal_sends_sigint():
            return
        if child.poll() is None:
            log.debug("forwarding signal %d to claude (pid %d)", signum, child.pid)
            with suppress(ProcessLookupError):  # it exited between poll() and kill()
                child.send_signal(signum)

    previous: dict[int, _Handler] = {}
    for sig in FORWARDED_SIGNALS:
        previous[sig] = signal.signal(sig, forward)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _shell_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ChildExit:
    """Run ``argv`` with our stdin/stdout/stderr, forwarding signals, until it has exited.

    Must be called from the main thread (Python only delivers signals there). ``on_start``
    receives the child's pid once it runs. Raises ``ClaudeMissing`` when ``argv[0]`` cannot be
    executed at all.
    """
    received: list[int] = []
    try:
        child = subprocess.Popen(list(argv), env=None if env is None else dict(env), cwd=cwd)
    except (FileNotFoundError, PermissionError) as exc:
        raise ClaudeMissing(f"Could not start {argv[0]}: {exc.strerror}.") from exc
    with _forwarding(child, received):
        if on_start is not None:
            on_start(child.pid)
        while True:
            try:
                returncode = child.wait()
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries for us
                continue
    return ChildExit(exit_code=_shell_code(returncode), signals=tuple(received))
