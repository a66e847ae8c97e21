"""The bash version's ``cr`` habits on real machines (issue 23), real Syncthing and the real
client: where no machine has a session of this directory yet, ``roam cr`` starts one (as
``claude -c`` did) once the cluster confirms there is none, and the other machine continues it;
a ``roam cr`` killed with -9 is cleared by the next one, which says so."""

from __future__ import annotations

import os
import re
import signal
from typing import TYPE_CHECKING

import pytest

from tests.e2e.cr_support import SLEEPER_SCRIPT, executable, home_of, sent_user_texts
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster
    from tests.e2e.cr_support import Roam
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e


def test_cr_with_no_session_anywhere_starts_one_that_the_other_machine_continues(
    connected: Cluster, roam: Roam, fake_api: FakeMessagesApi, project_cwd: Path
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    started = roam.run(beta, ["cr", "--", "-p", "first words, on beta"])
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
    continued = roam.run(alpha, ["cr", "--", "-p", "second, on alpha"])
    assert continued.returncode == 0, continued.stderr
    assert sent_user_texts(fake_api, mark) == ["first words, on beta", "second, on alpha"]


def test_cr_after_a_roam_cr_killed_with_9_says_which_holder_it_cleared(
    connected: Cluster, roam: Roam, fake_api: FakeMessagesApi, tmp_path: Path
) -> None:
    alpha = connected["alpha"]
    session = roam.new_session(alpha, "before the kill")
    ready = tmp_path / "claude-ready"
    sleeper = executable(tmp_path / "bin" / "claude", SLEEPER_SCRIPT)
    writer = roam.start(["cr", session], roam.env(alpha, sleeper, ROAM_TEST_READY=str(ready)))
    try:
        wait_until(ready.exists, timeout_s=60, what="claude to start under roam cr")
        wait_until(lambda: ready.read_text() != "", timeout_s=5, what="claude's pid")
    finally:
        writer.kill()  # SIGKILL: no release, no clean-up
        writer.wait()
        if ready.exists() and ready.read_text():
            # its claude too (it outlives roam), before reading roam's pipes: it holds them open
            os.kill(int(ready.read_text()), signal.SIGKILL)
        writer.communicate()
    mark = fake_api.mark()
    again = roam.run(alpha, ["cr", session, "--", "-p", "after the kill"])
    assert again.returncode == 0, again.stderr
    assert "Cleared the lease alpha" in again.stderr
    # at once when this machine's lock is free, else after the claim's TTL (not renewed)
    assert re.search(r"process (on this machine )?is gone", again.stderr), again.stderr
    assert sent_user_texts(fake_api, mark) == ["before the kill", "after the kill"]
