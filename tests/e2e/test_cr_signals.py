"""``roam cr`` releases the lease on every way out, on a real Syncthing pair.

claude is a stand-in that stays running (``SLEEPER_SCRIPT`` through ROAM_CLAUDE_BIN), so the
test decides how the session ends: a signal to roam (the terminal closing, ``kill``, Ctrl-C
sent by another process) or claude itself dying. Each time the claim must end ``released`` on
this machine and on the peer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.paths import project_slug
from tests.e2e.cr_support import (
    SLEEPER_SCRIPT,
    claim_state,
    executable,
    roam_argv,
    roam_env,
    run_roam,
)
from tests.support.claude import ClaudeDriver
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode

pytestmark = pytest.mark.e2e


def _seed_session(node: ClusterNode, cwd: Path) -> str:
    session = str(uuid.uuid4())
    folder = node.projects_dir / project_slug(os.path.realpath(cwd))
    folder.mkdir(parents=True, exist_ok=True)
    row = {"type": "user", "uuid": str(uuid.uuid4()), "parentUuid": None, "cwd": str(cwd)}
    (folder / f"{session}.jsonl").write_text(json.dumps(row) + "\n")
    return session


@pytest.mark.parametrize(
    ("how", "expected_exit"),
    [
        ("SIGTERM", 128 + signal.SIGTERM),
        ("SIGHUP", 128 + signal.SIGHUP),
        ("SIGINT", 128 + signal.SIGINT),
        ("claude-killed", 9),  # claude's own status is never roam's: ExitCode.CLAUDE_EXITED
    ],
)
def test_cr_releases_the_lease_however_the_session_ends(
    how: str,
    expected_exit: int,
    pair: Cluster,
    project_cwd: Path,
    tmp_path: Path,
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    session = _seed_session(alpha, project_cwd)
    ready = tmp_path / "ready"
    sleeper = executable(tmp_path / "bin" / "claude", SLEEPER_SCRIPT)
    # The stand-in never calls the API: the driver only supplies a clean environment.
    driver = ClaudeDriver(binary=sleeper, base_url="http://127.0.0.1:9")
    env = roam_env(driver, alpha, sleeper, {"ROAM_TEST_READY": str(ready)})
    roam = subprocess.Popen(
        roam_argv(["cr", session]),
        cwd=project_cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(ready.exists, timeout_s=30, what="roam cr to start claude")
        assert claim_state(alpha, session, alpha.device_id) == "held"
        if how == "claude-killed":
            os.kill(int(ready.read_text()), signal.SIGKILL)
        else:
            roam.send_signal(signal.Signals[how])
        _out, err = roam.communicate(timeout=60)
    finally:
        if roam.poll() is None:
            roam.kill()
    assert roam.returncode == expected_exit, err
    assert claim_state(alpha, session, alpha.device_id) == "released"
    wait_until(
        lambda: claim_state(beta, session, alpha.device_id) == "released",
        timeout_s=15,
        what="beta to see the release",
    )


def test_cr_force_takes_a_held_session_over_and_records_it(
    pair: Cluster, project_cwd: Path, tmp_path: Path
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    session = _seed_session(alpha, project_cwd)
    pair.wait_in_sync()
    ready = tmp_path / "ready"
    sleeper = executable(tmp_path / "bin" / "claude", SLEEPER_SCRIPT)
    driver = ClaudeDriver(binary=sleeper, base_url="http://127.0.0.1:9")
    holder = subprocess.Popen(
        roam_argv(["cr", session]),
        cwd=project_cwd,
        env=roam_env(driver, beta, sleeper, {"ROAM_TEST_READY": str(ready)}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(ready.exists, timeout_s=30, what="beta to start claude under roam cr")
        wait_until(
            lambda: claim_state(alpha, session, beta.device_id) == "held",
            timeout_s=15,
            what="alpha to see beta's claim",
        )
        instant = executable(tmp_path / "bin-true" / "claude", "#!/bin/sh\nexit 0\n")
        env = roam_env(driver, alpha, instant)
        refused = run_roam(["cr", session], cwd=project_cwd, env=env)
        assert refused.returncode == 5, refused.stderr
        assert "roam cr --force" in refused.stderr
        forced = run_roam(["cr", "--force", session], cwd=project_cwd, env=env)
        assert forced.returncode == 0, forced.stderr
        assert "--force" in forced.stderr
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=60)
    claim = json.loads(
        (alpha.projects_dir / ".roam" / "leases" / session / f"{alpha.device_id}.json").read_text()
    )
    assert claim["stolen_from"] == beta.device_id
    assert claim["state"] == "released"
