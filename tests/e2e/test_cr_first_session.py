"""``roam cr`` where no machine has a session of this directory yet starts one, as the bash
version's ``cr`` (``claude -c``) did, once the cluster confirms there is none (issue 23); the
other machine then continues it with a plain ``roam cr``. Real Syncthing, the real client."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.cr_support import home_of, roam_env, run_roam, sent_user_texts
from tests.e2e.test_cr_handoff import connected
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster
    from tests.support.claude import ClaudeDriver
    from tests.support.fake_api import FakeMessagesApi

pytest_plugins = ["tests.support.cluster_fixtures"]
pytestmark = pytest.mark.e2e
__all__ = ["connected"]  # the pair, connected again after each test (test_cr_handoff)


def test_cr_with_no_session_anywhere_starts_one_that_the_other_machine_continues(
    connected: Cluster,
    claude: ClaudeDriver,
    claude_bin: Path,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    started = run_roam(
        ["cr", "--", "-p", "first words, on beta"],
        cwd=project_cwd,
        env=roam_env(claude, beta, claude_bin),
    )
    assert started.returncode == 0, started.stderr
    assert "No machine has a session of this directory yet" in started.stderr
    sessions = list(home_of(beta).project_dir(project_cwd).glob("*.jsonl"))
    assert len(sessions) == 1
    wait_until(
        lambda: (home_of(alpha).project_dir(project_cwd) / sessions[0].name).exists(),
        timeout_s=30,
        what="alpha to receive the session beta started",
    )
    mark = fake_api.mark()
    continued = run_roam(
        ["cr", "--", "-p", "second, on alpha"],
        cwd=project_cwd,
        env=roam_env(claude, alpha, claude_bin),
    )
    assert continued.returncode == 0, continued.stderr
    assert sent_user_texts(fake_api, mark) == ["first words, on beta", "second, on alpha"]
