"""Close the laptop, open the desktop: two real machines and no third (issue 20).

Two real Syncthing nodes (the ``pair`` cluster) and the pinned real client against the fake
Messages API. Closing a laptop is stopping its Syncthing; a claude started by ``roam cr`` may
still be running there under the closed lid. What the client sends to the API is the ground
truth for what a resume saw.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pytest

from session_roam.engine.syncthing.node import SyncthingProcess
from tests.e2e.cr_support import (
    claim_state,
    executable,
    roam_argv,
    run_roam,
    sent_user_texts,
    session_bytes,
)
from tests.support.cluster import wait_until
from tests.support.terminal import answer_on_a_terminal

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from tests.e2e.cr_support import Roam
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e

#: Stand-in for an interactive claude left open: the real client makes the first turn, then the
#: "next prompt" once the test opens the gate, each with the arguments roam cr gave it.
OPEN_CLAUDE: Final = """#!/bin/sh
"$ROAM_TEST_REAL_CLAUDE" "$@" -p "$ROAM_TEST_FIRST" >"$ROAM_TEST_OUT.1" 2>&1 || exit $?
touch "$ROAM_TEST_OUT.first-done"
while [ ! -e "$ROAM_TEST_GATE" ]; do sleep 0.05; done
"$ROAM_TEST_REAL_CLAUDE" "$@" -p "$ROAM_TEST_NEXT" >"$ROAM_TEST_OUT.2" 2>&1
echo $? >"$ROAM_TEST_OUT.next-done"
exec sleep 120
"""

FIRST: Final = "the first turn, on alpha"
ON_ALPHA: Final = "alpha's turn before its lid closed"
ON_BETA: Final = "beta's turn while alpha is closed"
NEXT: Final = "alpha's next prompt after it opened again"


def _close_lid(node: ClusterNode) -> None:
    """The laptop is closed: its Syncthing stops (whatever else runs there keeps running)."""
    if node.process is not None:
        node.process.stop()
        node.process = None


def _open_lid(cluster: Cluster, node: ClusterNode) -> None:
    if node.process is None:
        node.process = SyncthingProcess(
            node.syncthing_home, binary=cluster.binary, env={"HOME": str(node.home)}
        ).start()
    cluster.wait_connected()


def test_two_machines_hand_over_after_alpha_released_and_closed_without_force(
    connected: Cluster, roam: Roam, fake_api: FakeMessagesApi, project_cwd: Path
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    session = roam.new_session(alpha, FIRST)
    on_alpha = roam.run(alpha, ["cr", session, "--", "-p", ON_ALPHA])
    assert on_alpha.returncode == 0, on_alpha.stderr
    wait_until(
        lambda: (
            claim_state(beta, session, alpha.device_id) == "released"
            and session_bytes(beta, project_cwd, session)
            == session_bytes(alpha, project_cwd, session)
        ),
        timeout_s=30,
        what="alpha's last turn and its release to reach beta",
    )
    _close_lid(alpha)
    mark = fake_api.mark()
    on_beta = roam.run(beta, ["cr", session, "--", "-p", ON_BETA])
    assert on_beta.returncode == 0, on_beta.stderr
    short = alpha.device_id[:7]
    assert re.search(rf"\(({short})\) is offline; it released this session at \d", on_beta.stderr)
    assert sent_user_texts(fake_api, mark) == [FIRST, ON_ALPHA, ON_BETA]


@dataclass(frozen=True, slots=True)
class ClosedHolding:
    """alpha holds ``session`` in an open claude (``roam cr`` pid ``roam``) and its lid closed."""

    session: str
    gate: Path
    out: Path
    on_beta: dict[str, str]  # roam's environment on beta, with the real client


@pytest.fixture
def alpha_closed_holding(
    connected: Cluster, roam: Roam, project_cwd: Path, tmp_path: Path
) -> Iterator[ClosedHolding]:
    alpha, beta = connected["alpha"], connected["beta"]
    session = roam.new_session(alpha, FIRST)
    stand_in = executable(tmp_path / "bin" / "claude", OPEN_CLAUDE)
    gate, out = tmp_path / "gate", tmp_path / "claude-out"
    env = roam.env(
        alpha,
        stand_in,
        ROAM_TEST_FIRST=ON_ALPHA,
        ROAM_TEST_NEXT=NEXT,
        ROAM_TEST_GATE=str(gate),
        ROAM_TEST_OUT=str(out),
    )
    with roam.group(["cr", session], env):  # roam cr and its claude, killed together after
        wait_until(
            (out.parent / f"{out.name}.first-done").exists,
            timeout_s=60,
            what="alpha's claude to make its first turn",
        )
        wait_until(
            lambda: (
                claim_state(beta, session, alpha.device_id) == "held"
                and ON_ALPHA.encode() in session_bytes(beta, project_cwd, session)
            ),
            timeout_s=30,
            what="beta to see alpha holding, with alpha's turn",
        )
        _close_lid(alpha)
        yield ClosedHolding(session, gate, out, roam.env(beta))


def test_two_machines_refuse_while_the_closed_machine_holds_naming_it_and_its_times(
    connected: Cluster,
    alpha_closed_holding: ClosedHolding,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    alpha = connected["alpha"]
    session, on_beta = alpha_closed_holding.session, alpha_closed_holding.on_beta
    mark = fake_api.mark()
    refused = run_roam(["cr", session, "--", "-p", ON_BETA], cwd=project_cwd, env=on_beta)
    assert refused.returncode == 5, refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, refused.stderr
    assert f"({alpha.device_id[:7]})" in errors[0]
    assert re.search(r"never released it \(its claim is still held since \d", errors[0])
    assert re.search(r"This machine has 2 turns of it; the last, at ", errors[0])
    assert f"roam cr --force {session}" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert fake_api.turns_since(mark) == []


def test_two_machines_stop_the_old_holders_next_prompt_after_a_take_over(
    connected: Cluster,
    alpha_closed_holding: ClosedHolding,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    session, on_beta = alpha_closed_holding.session, alpha_closed_holding.on_beta
    mark = fake_api.mark()
    forced = run_roam(["cr", "--force", session, "--", "-p", ON_BETA], cwd=project_cwd, env=on_beta)
    assert forced.returncode == 0, forced.stderr
    assert sent_user_texts(fake_api, mark) == [FIRST, ON_ALPHA, ON_BETA]
    _open_lid(connected, alpha)
    wait_until(
        lambda: _stolen_from(alpha, session, beta.device_id) == alpha.device_id,
        timeout_s=30,
        what="alpha to receive beta's take-over",
    )
    mark = fake_api.mark()
    alpha_closed_holding.gate.touch()
    out = alpha_closed_holding.out
    wait_until(
        (out.parent / f"{out.name}.next-done").exists,
        timeout_s=60,
        what="alpha's open claude to try its next prompt",
    )
    assert fake_api.turns_since(mark) == []  # the prompt never reached the model
    reasons = _blocked_reasons(session_bytes(alpha, project_cwd, session))
    assert len(reasons) == 1, reasons
    assert reasons[0].startswith(f"roam: session {session} continued on ")
    # beta's roam cr has exited: its claim says when it released the session
    assert f"({beta.device_id[:7]}) (released there at " in reasons[0]
    assert reasons[0].endswith("exit this claude and run `roam cr` to continue it with every turn.")


def _stolen_from(node: ClusterNode, session: str, thief: str) -> str:
    path = node.projects_dir / ".roam" / "leases" / session / f"{thief}.json"
    try:
        return str(json.loads(path.read_text()).get("stolen_from") or "")
    except (OSError, ValueError):
        return ""


def _blocked_reasons(raw: bytes) -> list[str]:
    """The sentences Claude Code recorded for prompts a UserPromptSubmit hook blocked."""
    reasons = []
    for line in raw.splitlines():
        with contextlib.suppress(ValueError):
            row = json.loads(line)
            ending = (row.get("promptSubmitEnding") or {}).get("ending") or {}
            if isinstance(row, dict) and ending.get("kind") == "blocked_by_hook":
                reasons.append(str(ending.get("reason", "")).strip())
    return reasons


def test_two_machines_ask_on_a_terminal_and_take_over_from_the_closed_holder(
    alpha_closed_holding: ClosedHolding,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    session = alpha_closed_holding.session
    mark = fake_api.mark()
    asked, done = _answer_on_a_terminal(
        roam_argv(["cr", session, "--", "-p", ON_BETA]),
        cwd=project_cwd,
        env=alpha_closed_holding.on_beta,
        answer="y",
    )
    assert done.returncode == 0, asked
    assert re.search(r"never released it .* Take it over here .*\[y/N\]", asked, re.DOTALL)
    assert sent_user_texts(fake_api, mark) == [FIRST, ON_ALPHA, ON_BETA]


def _answer_on_a_terminal(
    argv: list[str], *, cwd: Path, env: dict[str, str], answer: str
) -> tuple[str, subprocess.CompletedProcess[bytes]]:
    """Run ``argv`` with stdin and stderr on a pseudo-terminal; answer its y/N question."""
    return answer_on_a_terminal(argv, cwd=cwd, env=env, answer=answer or None)
