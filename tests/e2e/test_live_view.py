"""Where is each session live (issue 17): while ``roam cr`` runs a turn on beta, alpha's
``roam ls --json`` and ``roam status --json`` name beta for that session, from the lease claims
Syncthing carried; after beta's claude ends, alpha names beta as the last writer.

Two real Syncthing nodes (the ``pair`` cluster) and the pinned real client against the fake
Messages API; beta's claude is a stand-in that makes one real turn, then stays open until the
test opens its gate, as a person's interactive claude would.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import pytest

from tests.e2e.cr_support import claim_state, executable
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from tests.e2e.cr_support import Roam

pytestmark = pytest.mark.e2e

OPEN_CLAUDE: Final = """#!/bin/sh
"$ROAM_TEST_REAL_CLAUDE" "$@" -p "$ROAM_TEST_PROMPT" >"$ROAM_TEST_OUT" 2>&1 || exit $?
touch "$ROAM_TEST_OUT.done"
while [ ! -e "$ROAM_TEST_GATE" ]; do sleep 0.05; done
"""

FIRST: Final = "the first turn, on alpha"
ON_BETA: Final = "beta's turn, while alpha looks on"


def _ls(roam: Roam, node: ClusterNode) -> list[Any]:
    result = roam.run(node, ["ls", "--all", "--json"])
    assert result.returncode == 0, result.stderr
    document: list[Any] = json.loads(result.stdout)
    return document


def _row(rows: list[Any], session: str) -> dict[str, Any]:
    found = [r for r in rows if r["session_id"] == session]
    return found[0] if found else {}


def _names(node: ClusterNode) -> set[str]:
    return {node.name, node.device_id[:7]}


def test_ls_and_status_on_alpha_name_beta_while_roam_cr_runs_a_turn_there(
    connected: Cluster, roam: Roam, tmp_path: Path
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    session = roam.new_session(alpha, FIRST)
    stand_in = executable(tmp_path / "bin" / "claude", OPEN_CLAUDE)
    gate, out = tmp_path / "gate", tmp_path / "claude-out"
    env = roam.env(
        beta, stand_in, ROAM_TEST_PROMPT=ON_BETA, ROAM_TEST_GATE=str(gate), ROAM_TEST_OUT=str(out)
    )
    wait_until(
        lambda: bool(_row(_ls(roam, beta), session)),
        timeout_s=30,
        what="alpha's session to reach beta",
    )
    with roam.group(["cr", session], env) as on_beta:
        wait_until(
            (out.parent / f"{out.name}.done").exists, timeout_s=60, what="beta's claude's turn"
        )
        wait_until(
            lambda: claim_state(alpha, session, beta.device_id) == "held",
            timeout_s=30,
            what="alpha to receive beta's claim",
        )
        live = _row(_ls(roam, alpha), session)
        assert live["lease_holder"] in _names(beta), live
        assert live["claude_running"] is True

        status = roam.run(alpha, ["status", "--json"])
        assert status.returncode == 0, status.stderr
        view = json.loads(status.stdout)["live"]
        (held,) = [s for s in view["sessions"] if s["session_id"] == session]
        assert held["lease_holder"] in _names(beta)
        assert held["claude_running"] is True
        (peer,) = [p for p in view["peers"] if p["device_id"] == beta.device_id]
        assert peer["connected"] is True
        assert peer["last_seen"] is not None

        gate.touch()
        on_beta.wait(timeout=60)
        wait_until(
            lambda: claim_state(alpha, session, beta.device_id) == "released",
            timeout_s=30,
            what="alpha to receive beta's release",
        )
        after = _row(_ls(roam, alpha), session)
        assert (after["lease_holder"], after["claude_running"]) == (None, False)
        assert after["last_writer"] in _names(beta)
        assert after["last_written"].endswith("Z")
