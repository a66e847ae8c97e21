"""Running ``roam cr`` as one machine of a real Syncthing cluster, for the ``test_cr_*`` tests.

Each cluster node is one machine: its HOME (Claude's config under it), its Syncthing home
(found by roam through STHOMEDIR, as on a machine where Syncthing keeps a non-default home), and
its own XDG folders, so journals and lease memory never mix between machines.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from tests.support.claude import ClaudeDriver, ClaudeHome
from tests.support.conversation import conversation_of

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from tests.support.fake_api import FakeMessagesApi

__all__ = [
    "GATE_SCRIPT",
    "SLEEPER_SCRIPT",
    "Roam",
    "claim_state",
    "executable",
    "home_of",
    "protect_markers",
    "roam_argv",
    "roam_env",
    "run_roam",
    "sent_user_texts",
    "session_bytes",
    "start_roam",
]

ROAM_TIMEOUT_S: Final = 120.0

#: Stand-in for claude that waits for a gate file, then becomes the real client.
GATE_SCRIPT: Final = """#!/bin/sh
while [ ! -e "$ROAM_TEST_GATE" ]; do sleep 0.05; done
exec "$ROAM_TEST_REAL_CLAUDE" "$@"
"""

#: Stand-in for an interactive claude that stays until a signal ends it.
SLEEPER_SCRIPT: Final = """#!/usr/bin/env python3
import os, sys, time
open(os.environ["ROAM_TEST_READY"], "w").write(str(os.getpid()))
time.sleep(60)
sys.exit(int(os.environ.get("ROAM_TEST_EXIT", "0")))
"""


def protect_markers(cluster: Cluster) -> None:
    """Put a file in every node's ``.stfolder`` so Claude Code does not delete it.

    Measured with 2.1.331: a session that runs for a few seconds (slow hooks are enough)
    removes every *empty* directory under ``projects/``, Syncthing's ``.stfolder`` marker
    included, and Syncthing then refuses every scan of the folder ("folder marker missing").
    ``roam setup`` should do the same for real machines (reported to the lead).
    """
    for node in cluster.nodes:
        keep = node.projects_dir / ".stfolder" / ".roam-keep"
        if not keep.exists():
            keep.write_text("Keeps Syncthing's folder marker from being removed as empty.\n")


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def home_of(node: ClusterNode) -> ClaudeHome:
    return ClaudeHome(name=node.name, path=node.home)


def roam_env(
    driver: ClaudeDriver,
    node: ClusterNode,
    claude_bin: Path,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment of ``roam`` on ``node``: the client's, plus where Syncthing is."""
    env = driver.environment(home_of(node))
    env.update(
        STHOMEDIR=str(node.syncthing_home),
        XDG_CONFIG_HOME=str(node.home / ".config"),
        XDG_STATE_HOME=str(node.home / ".local" / "state"),
        XDG_CACHE_HOME=str(node.home / ".cache"),
        ROAM_CLAUDE_BIN=str(claude_bin),
    )
    if extra:
        env.update(extra)
    return env


def roam_argv(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "session_roam", *args]


def run_roam(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        roam_argv(args),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=ROAM_TIMEOUT_S,
        check=False,
    )


def sent_user_texts(api: FakeMessagesApi, mark: int) -> list[str]:
    """The user turns of the first model call since ``mark``: what the resumed client saw."""
    turns = api.turns_since(mark)
    assert turns, "the client sent no model call"
    return conversation_of(turns[0].messages).user_texts


def start_roam(args: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """``roam ARGS`` running in the background (a writer the test cuts off or lets finish)."""
    return subprocess.Popen(
        roam_argv(args),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def claim_state(node: ClusterNode, session_id: str, device_id: str) -> str:
    """The state of ``device_id``'s lease claim on ``session_id`` as ``node`` has it on disk."""
    path = node.projects_dir / ".roam" / "leases" / session_id / f"{device_id}.json"
    try:
        return str(json.loads(path.read_text())["state"])
    except (OSError, ValueError, KeyError):
        return ""


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def session_bytes(node: ClusterNode, cwd: Path, session_id: str) -> bytes:
    """The session file as ``node`` has it now (empty while a receiver swaps it in)."""
    try:
        return home_of(node).session_file(cwd, session_id).read_bytes()
    except FileNotFoundError:
        return b""


@dataclass(frozen=True, slots=True)
class Roam:
    """``roam`` as each node of the test's cluster runs it, in the test's project folder.

    On every node roam gets that machine's environment (``roam_env``) and the pinned client,
    which talks to the test's fake Messages API; ``stand_in`` replaces the client with a script
    that finds the real one in ``ROAM_TEST_REAL_CLAUDE``.
    """

    claude: ClaudeDriver
    claude_bin: Path
    cwd: Path

    def env(self, node: ClusterNode, stand_in: Path | None = None, **extra: str) -> dict[str, str]:
        if stand_in is None:
            return roam_env(self.claude, node, self.claude_bin, extra)
        return roam_env(
            self.claude, node, stand_in, {"ROAM_TEST_REAL_CLAUDE": str(self.claude_bin), **extra}
        )

    def new_session(self, node: ClusterNode, prompt: str) -> str:
        """A session the real client starts on ``node`` (no roam involved): its id."""
        return self.claude.new(home_of(node), self.cwd, prompt).session_id

    def run(
        self, node: ClusterNode, args: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_roam(args, cwd=self.cwd, env=self.env(node) if env is None else env)

    def start(self, args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
        return start_roam(args, cwd=self.cwd, env=env)

    @contextlib.contextmanager
    def group(
        self, args: Sequence[str], env: Mapping[str, str]
    ) -> Iterator[subprocess.Popen[bytes]]:
        """``roam ARGS`` in the background, in a process group of its own (its claude with it),
        killed with SIGKILL on the way out: mid-session, so roam never releases."""
        process = subprocess.Popen(
            roam_argv(args),
            cwd=self.cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
