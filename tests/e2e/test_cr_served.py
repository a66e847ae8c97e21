"""``roam cr`` served by ``roam watch``'s cr server on a real Syncthing pair, with the real
client: the same resume, lease and exit codes as an in-process ``roam cr``, and a served session
that outlives the watch (docs/design/cr-server.md).

A served run is told from an in-process one by the pid in its lease claim and journal: the
server's child's, not the ``roam`` process the test started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from tests.e2e.cr_support import (
    SLEEPER_SCRIPT,
    claim_state,
    executable,
    pid_exists,
    sent_user_texts,
    start_roam,
)
from tests.support.cluster import wait_until
from tests.support.procs import processes_mentioning

if TYPE_CHECKING:
    from collections.abc import Iterator

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from tests.e2e.cr_support import Roam
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e

#: A claude that says it started, then ends (status 0) once the test opens the gate.
_GATED: Final = """#!/bin/sh
echo $$ > "$ROAM_TEST_READY"
while [ ! -e "$ROAM_TEST_GATE" ]; do sleep 0.05; done
exit 0
"""


class Served:
    """``roam watch`` on alpha, its cr server listening in a runtime dir of the test's."""

    def __init__(self, roam: Roam, alpha: ClusterNode, runtime: Path) -> None:
        self.roam, self.alpha, self.runtime = roam, alpha, runtime
        self.socket = runtime / "session-roam" / "cr.sock"
        self.watch: subprocess.Popen[str] | None = None

    def env(self, stand_in: Path | None = None, **extra: str) -> dict[str, str]:
        env = self.roam.env(self.alpha, stand_in, **extra)
        if stand_in is not None:
            env["ROAM_CLAUDE_BIN"] = str(stand_in)
        return {**env, "XDG_RUNTIME_DIR": str(self.runtime)}

    def start_watch(self) -> None:
        self.watch = start_roam(["watch"], cwd=self.roam.cwd, env=self.env())
        wait_until(self.socket.exists, timeout_s=60, what="roam watch's cr server to listen")

    def stop_watch(self) -> None:
        if self.watch is not None and self.watch.poll() is None:
            self.watch.terminate()
            self.watch.communicate(timeout=30)

    def servers(self) -> dict[int, str]:
        """The cr servers of this test's watch (other tests' may be running)."""
        assert self.watch is not None
        return processes_mentioning(f"session_roam.cli.crserver --parent {self.watch.pid}")


@pytest.fixture
def served(connected: Cluster, roam: Roam) -> Iterator[Served]:
    runtime = Path(tempfile.mkdtemp(prefix="roam-rt-"))  # short: sun_path holds 107 bytes
    serving = Served(roam, connected["alpha"], runtime)
    serving.start_watch()
    try:
        yield serving
    finally:
        serving.stop_watch()
        subprocess.run(["rm", "-rf", str(runtime)], check=False)


def _claim_pid(node: ClusterNode, session: str, device: str) -> int:
    path = node.projects_dir / ".roam" / "leases" / session / f"{device}.json"
    return int(json.loads(path.read_text())["pid"])


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, int, str, str]:
    process = start_roam(args, cwd=cwd, env=env)
    out, err = process.communicate(timeout=120)
    return process.pid, process.returncode, out, err


def test_served_cr_resumes_every_turn_and_takes_and_releases_the_lease(
    served: Served, connected: Cluster, roam: Roam, fake_api: FakeMessagesApi
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    session = roam.new_session(beta, "one on beta")
    connected.wait_in_sync()
    mark = fake_api.mark()
    pid, code, _out, err = _run(["cr", session, "--", "-p", "two on alpha"], served.env(), roam.cwd)
    assert code == 0, err
    assert sent_user_texts(fake_api, mark) == ["one on beta", "two on alpha"]
    assert claim_state(alpha, session, alpha.device_id) == "released"
    assert _claim_pid(alpha, session, alpha.device_id) not in (pid, 0)  # the server's child
    wait_until(
        lambda: claim_state(beta, session, alpha.device_id) == "released",
        timeout_s=15,
        what="beta to see the release",
    )


def _journal(node: ClusterNode, session: str) -> list[dict[str, object]]:
    path = node.home / ".local" / "state" / "session-roam" / "journal" / f"{session}.events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_served_and_in_process_cr_say_and_journal_the_same(
    served: Served, connected: Cluster, roam: Roam
) -> None:
    alpha = connected["alpha"]
    session = roam.new_session(alpha, "one")
    served_run = _run(["cr", session, "--", "-p", "again"], served.env(), roam.cwd)
    local_env = {**served.env(), "ROAM_CR_SERVER": "0"}
    local_run = _run(["cr", session, "--", "-p", "again"], local_env, roam.cwd)
    assert served_run[1:] == local_run[1:]
    notes = _journal(alpha, session)
    kinds = [(n["event"], sorted(set(n) - {"at", "pid"})) for n in notes]
    assert kinds[: len(kinds) // 2] == kinds[len(kinds) // 2 :]
    assert [n["pid"] for n in notes][-1] == local_run[0]
    assert local_run[0] not in {n["pid"] for n in notes[: len(notes) // 2]}


def test_served_cr_of_a_held_session_exits_5_with_the_json_error(
    served: Served, connected: Cluster, roam: Roam, tmp_path: Path
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    session = roam.new_session(alpha, "one")
    ready = tmp_path / "ready"
    sleeper = executable(tmp_path / "bin" / "claude", SLEEPER_SCRIPT)
    holder = start_roam(
        ["cr", session], cwd=roam.cwd, env=roam.env(beta, sleeper, ROAM_TEST_READY=str(ready))
    )
    try:
        wait_until(ready.exists, timeout_s=60, what="beta to start claude under roam cr")
        wait_until(
            lambda: claim_state(alpha, session, beta.device_id) == "held",
            timeout_s=15,
            what="alpha to see beta's claim",
        )
        _pid, code, out, err = _run(["--json", "cr", session], served.env(), roam.cwd)
        assert code == 5, err
        assert json.loads(out)["schema"] == "roam.error/1"
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.communicate(timeout=60)


def test_sigterm_to_a_served_cr_ends_claude_and_releases_the_lease(
    served: Served, connected: Cluster, roam: Roam, tmp_path: Path
) -> None:
    alpha = connected["alpha"]
    session = roam.new_session(alpha, "one")
    ready = tmp_path / "ready"
    sleeper = executable(tmp_path / "bin" / "claude", SLEEPER_SCRIPT)
    client = start_roam(
        ["cr", session], cwd=roam.cwd, env=served.env(sleeper, ROAM_TEST_READY=str(ready))
    )
    wait_until(ready.exists, timeout_s=60, what="the served cr to start claude")
    client.send_signal(signal.SIGTERM)
    _out, err = client.communicate(timeout=60)
    assert client.returncode == 128 + signal.SIGTERM, err
    assert not pid_exists(int(ready.read_text()))
    assert claim_state(alpha, session, alpha.device_id) == "released"


def test_kill_9_of_a_served_cr_leaves_the_claim_as_a_killed_roam_does(
    served: Served, connected: Cluster, roam: Roam, tmp_path: Path
) -> None:
    alpha = connected["alpha"]
    session = roam.new_session(alpha, "one")
    ready = tmp_path / "ready"
    sleeper = executable(tmp_path / "bin" / "claude", SLEEPER_SCRIPT)
    client = start_roam(
        ["cr", session], cwd=roam.cwd, env=served.env(sleeper, ROAM_TEST_READY=str(ready))
    )
    try:
        wait_until(ready.exists, timeout_s=60, what="the served cr to start claude")
        child = _claim_pid(alpha, session, alpha.device_id)
        client.kill()
        client.wait(timeout=30)
        wait_until(lambda: not pid_exists(child), timeout_s=15, what="the served child to end")
        assert claim_state(alpha, session, alpha.device_id) == "held"  # its pid is dead now
    finally:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(ready.read_text()), signal.SIGKILL)
        client.communicate(timeout=30)
    again = roam.run(alpha, ["cr", session, "--", "-p", "after the kill"], env=served.env())
    assert again.returncode == 0, again.stderr


def test_watch_restart_while_claude_runs_leaves_the_served_cr_to_finish(
    served: Served, connected: Cluster, roam: Roam, tmp_path: Path
) -> None:
    alpha = connected["alpha"]
    session = roam.new_session(alpha, "one")
    ready, gate = tmp_path / "ready", tmp_path / "gate"
    gated = executable(tmp_path / "bin" / "claude", _GATED)
    env = served.env(gated, ROAM_TEST_READY=str(ready), ROAM_TEST_GATE=str(gate))
    client = start_roam(["cr", session], cwd=roam.cwd, env=env)
    wait_until(ready.exists, timeout_s=60, what="the served cr to start claude")
    served.stop_watch()
    served.start_watch()
    gate.touch()
    _out, err = client.communicate(timeout=60)
    assert client.returncode == 0, err
    assert claim_state(alpha, session, alpha.device_id) == "released"


def test_watch_stop_leaves_no_socket_and_no_server(served: Served) -> None:
    assert served.servers()
    served.stop_watch()
    assert not served.socket.exists()
    assert served.servers() == {}
