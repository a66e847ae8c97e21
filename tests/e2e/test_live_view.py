"""Where is each session live (issue 17): while ``roam cr`` runs a turn on beta, alpha's
``roam ls --json`` and ``roam status --json`` name beta for that session, from the lease claims
Syncthing carried; after beta's claude ends, alpha names beta as the last writer.

Two real Syncthing nodes (the ``pair`` cluster) and the pinned real client against the fake
Messages API; beta's claude is a stand-in that makes one real turn, then stays open until the
test opens its gate, as a person's interactive claude would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from typing import TYPE_CHECKING, Any, Final

import pytest

from tests.e2e.cr_support import (
    claim_state,
    executable,
    home_of,
    protect_markers,
    roam_argv,
    roam_env,
    run_roam,
)
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from tests.support.claude import ClaudeDriver

pytest_plugins = ["tests.support.cluster_fixtures"]
pytestmark = pytest.mark.e2e

OPEN_CLAUDE: Final = """#!/bin/sh
"$ROAM_TEST_REAL_CLAUDE" "$@" -p "$ROAM_TEST_PROMPT" >"$ROAM_TEST_OUT" 2>&1 || exit $?
touch "$ROAM_TEST_OUT.done"
while [ ! -e "$ROAM_TEST_GATE" ]; do sleep 0.05; done
"""

FIRST: Final = "the first turn, on alpha"
ON_BETA: Final = "beta's turn, while alpha looks on"


def _ls(node: ClusterNode, driver: ClaudeDriver, claude_bin: Path, cwd: Path) -> list[Any]:
    result = run_roam(["ls", "--all", "--json"], cwd=cwd, env=roam_env(driver, node, claude_bin))
    assert result.returncode == 0, result.stderr
    document: list[Any] = json.loads(result.stdout)
    return document


def _row(rows: list[Any], session: str) -> dict[str, Any]:
    found = [r for r in rows if r["session_id"] == session]
    return found[0] if found else {}


def _names(node: ClusterNode) -> set[str]:
    return {node.name, node.device_id[:7]}


@pytest.fixture
def two(pair: Cluster) -> Cluster:
    protect_markers(pair)
    return pair


def test_ls_and_status_on_alpha_name_beta_while_roam_cr_runs_a_turn_there(
    two: Cluster,
    claude: ClaudeDriver,
    claude_bin: Path,
    project_cwd: Path,
    tmp_path: Path,
) -> None:
    alpha, beta = two["alpha"], two["beta"]
    session = claude.new(home_of(alpha), project_cwd, FIRST).session_id
    stand_in = executable(tmp_path / "bin" / "claude", OPEN_CLAUDE)
    gate, out = tmp_path / "gate", tmp_path / "claude-out"
    env = roam_env(
        claude,
        beta,
        stand_in,
        {
            "ROAM_TEST_REAL_CLAUDE": str(claude_bin),
            "ROAM_TEST_PROMPT": ON_BETA,
            "ROAM_TEST_GATE": str(gate),
            "ROAM_TEST_OUT": str(out),
        },
    )
    wait_until(
        lambda: bool(_row(_ls(beta, claude, claude_bin, project_cwd), session)),
        timeout_s=30,
        what="alpha's session to reach beta",
    )
    roam = subprocess.Popen(
        roam_argv(["cr", session]),
        cwd=project_cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(
            (out.parent / f"{out.name}.done").exists, timeout_s=60, what="beta's claude's turn"
        )
        wait_until(
            lambda: claim_state(alpha, session, beta.device_id) == "held",
            timeout_s=30,
            what="alpha to receive beta's claim",
        )
        live = _row(_ls(alpha, claude, claude_bin, project_cwd), session)
        assert live["lease_holder"] in _names(beta), live
        assert live["claude_running"] is True

        status = run_roam(
            ["status", "--json"], cwd=project_cwd, env=roam_env(claude, alpha, claude_bin)
        )
        assert status.returncode == 0, status.stderr
        view = json.loads(status.stdout)["live"]
        (held,) = [s for s in view["sessions"] if s["session_id"] == session]
        assert held["lease_holder"] in _names(beta)
        assert held["claude_running"] is True
        (peer,) = [p for p in view["peers"] if p["device_id"] == beta.device_id]
        assert peer["connected"] is True
        assert peer["last_seen"] is not None

        gate.touch()
        roam.wait(timeout=60)
        wait_until(
            lambda: claim_state(alpha, session, beta.device_id) == "released",
            timeout_s=30,
            what="alpha to receive beta's release",
        )
        after = _row(_ls(alpha, claude, claude_bin, project_cwd), session)
        assert (after["lease_holder"], after["claude_running"]) == (None, False)
        assert after["last_writer"] in _names(beta)
        assert after["last_written"].endswith("Z")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(roam.pid, signal.SIGKILL)
        roam.wait(timeout=10)
