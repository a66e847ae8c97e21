"""A typed driver for the real Claude Code client, run offline against the fake Messages API.

One ``ClaudeHome`` is one machine's home folder (its ``~/.claude``). ``ClaudeDriver`` runs one
non-interactive turn (``claude -p``, ``-c -p``, ``-r ID -p``) with a clean environment that only
points the client at the loopback stand-in, and returns what the process printed. The JSON result
the client prints (``--output-format json``) carries the session id, so tests never have to guess
which file a turn wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypedDict, Unpack

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "ClaudeDriver",
    "ClaudeHome",
    "ClaudeRun",
    "ClaudeRunError",
    "MakeHome",
    "TurnOptions",
    "project_slug",
]

#: Variables the client reads that must never leak in from the developer's or CI's environment.
_STRIPPED_PREFIXES: Final = ("CLAUDE", "ANTHROPIC")
_DEFAULT_TIMEOUT_S: Final = 60.0
_TAIL_CHARS: Final = 4000
_SLUG_MAX: Final = 200


def _is_slug_char(unit: int) -> bool:
    return 0x30 <= unit <= 0x39 or 0x41 <= unit <= 0x5A or 0x61 <= unit <= 0x7A


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def project_slug(path: str) -> str:
    """The folder name Claude Code 2.1.331 uses under ``projects/`` for an absolute cwd.

    Kept here, independent of session_roam, so the harness checks roam rather than trusting it.
    """
    units = memoryview(path.encode("utf-16-le")).cast("H")
    encoded = "".join(chr(u) if _is_slug_char(u) else "-" for u in units)
    if len(encoded) <= _SLUG_MAX:
        return encoded
    hashed = 0
    for unit in units:  # Java String.hashCode over UTF-16 code units
        hashed = (hashed * 31 + unit) & 0xFFFFFFFF
    if hashed & 0x80000000:
        hashed -= 1 << 32
    return f"{encoded[:_SLUG_MAX]}-{_base36(abs(hashed))}"


@dataclass(frozen=True, slots=True)
class ClaudeHome:
    """One simulated machine: a HOME folder whose ``.claude`` the client reads and writes."""

    name: str
    path: Path

    @property
    def claude_dir(self) -> Path:
        """The config folder (what ``roam --claude-dir`` takes)."""
        return self.path / ".claude"

    @property
    def projects_dir(self) -> Path:
        return self.claude_dir / "projects"

    def project_dir(self, cwd: Path) -> Path:
        """Where sessions started in ``cwd`` live (the client uses the physical path)."""
        return self.projects_dir / project_slug(str(cwd.resolve()))

    def session_file(self, cwd: Path, session_id: str) -> Path:
        return self.project_dir(cwd) / f"{session_id}.jsonl"


@dataclass(frozen=True, slots=True)
class ClaudeRun:
    """One finished ``claude`` process: what ran, where, and what it printed."""

    argv: tuple[str, ...]
    home: ClaudeHome
    cwd: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    result: Mapping[str, Any] = field(default_factory=dict)

    @property
    def session_id(self) -> str:
        """The session the turn was written to, as the client reported it."""
        return str(self.result.get("session_id", ""))

    @property
    def text(self) -> str:
        """The final assistant text of the turn."""
        return str(self.result.get("result", ""))


#: A factory fixture: ``make_home("a")`` returns a fresh simulated machine named ``a``.
MakeHome = Callable[[str], ClaudeHome]


class ClaudeRunError(AssertionError):
    """The client failed, timed out or printed no result; the message carries its output."""


def _tail(text: str | bytes | None) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return text[-_TAIL_CHARS:]


def _describe(argv: Sequence[str], cwd: Path, what: str, stdout: str, stderr: str) -> str:
    return (
        f"claude {what}\n  argv: {' '.join(argv)}\n  cwd: {cwd}\n"
        f"  stdout (tail):\n{stdout}\n  stderr (tail):\n{stderr}"
    )


class TurnOptions(TypedDict, total=False):
    """Keyword options shared by ``new``, ``cont`` and ``resume`` (see ``ClaudeDriver.run``)."""

    allowed_tools: Sequence[str]
    extra_args: Sequence[str]
    env: Mapping[str, str] | None
    check: bool


@dataclass(frozen=True, slots=True)
class ClaudeDriver:
    """Runs the pinned client against ``base_url`` (the fake Messages API)."""

    binary: Path
    base_url: str
    timeout_s: float = _DEFAULT_TIMEOUT_S

    def environment(
        self, home: ClaudeHome, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The whole environment of a run: ours minus every CLAUDE*/ANTHROPIC* variable.

        HOME and the XDG folders point into the node's home, so anything the client starts
        (hooks running ``roam``, the Bash tool) sees that machine's state, not the test's.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_PREFIXES)}
        env.update(
            HOME=str(home.path),
            XDG_CONFIG_HOME=str(home.path / ".config"),
            XDG_STATE_HOME=str(home.path / ".local" / "state"),
            XDG_CACHE_HOME=str(home.path / ".cache"),
            XDG_DATA_HOME=str(home.path / ".local" / "share"),
            ANTHROPIC_BASE_URL=self.base_url,
            ANTHROPIC_API_KEY="sk-test",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_TELEMETRY="1",
            DISABLE_AUTOUPDATER="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            env.pop(proxy, None)
        if extra:
            env.update(extra)
        return env

    def run(
        self,
        home: ClaudeHome,
        cwd: Path,
        prompt: str,
        *,
        continue_last: bool = False,
        resume: str | None = None,
        allowed_tools: Sequence[str] = (),
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> ClaudeRun:
        """One turn. ``check`` raises ``ClaudeRunError`` unless the client reported success."""
        argv: list[str] = [str(self.binary)]
        if continue_last:
            argv.append("-c")
        if resume is not None:
            argv += ["-r", resume]
        argv += ["-p", prompt, "--output-format", "json"]
        if allowed_tools:
            argv += ["--allowedTools", ",".join(allowed_tools)]
        argv += list(extra_args)
        started = time.monotonic()
        try:
            done = subprocess.run(
                argv,
                cwd=cwd,
                env=self.environment(home, env),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            what = f"timed out after {self.timeout_s:.0f} s"
            raise ClaudeRunError(
                _describe(argv, cwd, what, _tail(exc.stdout), _tail(exc.stderr))
            ) from exc
        seconds = time.monotonic() - started
        result: Mapping[str, Any] = {}
        try:
            parsed = json.loads(done.stdout)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            result = parsed
        run = ClaudeRun(
            argv=tuple(argv),
            home=home,
            cwd=cwd,
            returncode=done.returncode,
            stdout=done.stdout,
            stderr=done.stderr,
            seconds=seconds,
            result=result,
        )
        if check and (done.returncode != 0 or not result or result.get("is_error")):
            what = f"failed (exit {done.returncode})"
            raise ClaudeRunError(_describe(argv, cwd, what, _tail(done.stdout), _tail(done.stderr)))
        return run

    def new(
        self, home: ClaudeHome, cwd: Path, prompt: str, **options: Unpack[TurnOptions]
    ) -> ClaudeRun:
        """``claude -p PROMPT``: start a new session in ``cwd``."""
        return self.run(home, cwd, prompt, **options)

    def cont(
        self, home: ClaudeHome, cwd: Path, prompt: str, **options: Unpack[TurnOptions]
    ) -> ClaudeRun:
        """``claude -c -p PROMPT``: continue the newest session of ``cwd``."""
        return self.run(home, cwd, prompt, continue_last=True, **options)

    def resume(
        self,
        home: ClaudeHome,
        cwd: Path,
        session_id: str,
        prompt: str,
        **options: Unpack[TurnOptions],
    ) -> ClaudeRun:
        """``claude -r ID -p PROMPT``: resume one session by id."""
        return self.run(home, cwd, prompt, resume=session_id, **options)
