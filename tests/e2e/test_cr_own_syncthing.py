"""`roam cr` finds this machine's Syncthing however it was set up, starts it when it is down, and
never writes without the lease on a machine set up for sync (issues 13 and 20, case 3).

Real Syncthing nodes on 127.0.0.1 and the real Claude Code against the stand-in API. Each test
owns its pair: some stop a node's Syncthing, and a Syncthing that roam started is stopped by
the test itself (``stop_pid``), never left running.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.procs import pid_alive
from session_roam.engine.syncthing.node import PID_FILE, stop_pid
from tests.e2e.cr_support import (
    claim_state,
    executable,
    home_of,
    protect_markers,
    roam_env,
    run_roam,
    sent_user_texts,
)
from tests.support.cluster import discard_pid, stop_when_started
from tests.support.st_home import FAILING_SYNCTHING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from tests.support.claude import ClaudeDriver
    from tests.support.cluster import MakeCluster
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_cluster(make_cluster: MakeCluster) -> Iterator[Callable[[str], Cluster]]:
    """Clusters this test owns; a Syncthing roam started on one of their nodes is stopped after."""
    made: list[Cluster] = []

    def make(name: str) -> Cluster:
        cluster = make_cluster(name)
        protect_markers(cluster)
        made.append(cluster)
        return cluster

    yield make
    for node in (node for cluster in made for node in cluster.nodes):
        if node.process is None:
            discard_pid(node.syncthing_home)


@pytest.fixture
def pair_of_own(own_cluster: Callable[[str], Cluster]) -> Cluster:
    return own_cluster("pair")


def _env(claude: ClaudeDriver, node: ClusterNode, claude_bin: Path, **extra: str) -> dict[str, str]:
    """roam's environment on ``node`` with no STHOMEDIR: roam must find Syncthing itself."""
    env = roam_env(claude, node, claude_bin, extra)
    del env["STHOMEDIR"]
    return env


def _stop_own_syncthing(node: ClusterNode) -> None:
    """Stop the node's Syncthing as a reboot or `kill` would: it is configured, not running."""
    assert node.process is not None
    stop_when_started(node.process)
    node.process = None


def test_cr_after_setup_with_a_syncthing_home_takes_the_lease_through_the_recorded_home(
    pair_of_own: Cluster,
    claude: ClaudeDriver,
    claude_bin: Path,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    alpha = pair_of_own["alpha"]
    env = _env(claude, alpha, claude_bin)
    setup = run_roam(
        ["setup", "--syncthing-home", str(alpha.syncthing_home)], cwd=project_cwd, env=env
    )
    assert setup.returncode == 0, setup.stderr
    session = claude.new(home_of(alpha), project_cwd, "one").session_id
    mark = fake_api.mark()
    done = run_roam(["cr", session, "--", "-p", "two"], cwd=project_cwd, env=env)
    assert done.returncode == 0, done.stderr
    assert "without a lease" not in done.stderr
    assert claim_state(alpha, session, alpha.device_id) == "released"
    assert sent_user_texts(fake_api, mark) == ["one", "two"]


def test_cr_with_only_roam_syncthing_home_takes_the_lease(
    pair_of_own: Cluster,
    claude: ClaudeDriver,
    claude_bin: Path,
    project_cwd: Path,
) -> None:
    beta = pair_of_own["beta"]
    env = _env(claude, beta, claude_bin, ROAM_SYNCTHING_HOME=str(beta.syncthing_home))
    session = claude.new(home_of(beta), project_cwd, "one on beta").session_id
    began = time.monotonic()
    done = run_roam(["cr", session, "--", "-p", "two on beta"], cwd=project_cwd, env=env)
    print(f"roam cr with Syncthing running: {time.monotonic() - began:.1f} s")
    assert done.returncode == 0, done.stderr
    assert claim_state(beta, session, beta.device_id) == "released"


def test_cr_starts_the_stopped_syncthing_and_resumes_under_the_lease(
    pair_of_own: Cluster,
    claude: ClaudeDriver,
    claude_bin: Path,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    alpha, beta = pair_of_own["alpha"], pair_of_own["beta"]
    env = _env(claude, alpha, claude_bin, ROAM_SYNCTHING_HOME=str(alpha.syncthing_home))
    session = claude.new(home_of(alpha), project_cwd, "before the reboot").session_id
    _stop_own_syncthing(alpha)
    mark = fake_api.mark()
    began = time.monotonic()
    done = run_roam(["cr", session, "--", "-p", "after the reboot"], cwd=project_cwd, env=env)
    took = time.monotonic() - began
    pid = int((alpha.syncthing_home / PID_FILE).read_text())
    assert done.returncode == 0, done.stderr
    started = re.search(r"roam started it \(background process .*\) in ([0-9.]+) s", done.stderr)
    assert started is not None, done.stderr
    print(f"roam cr with Syncthing to start: {took:.1f} s, of which starting {started[1]} s")
    assert claim_state(alpha, session, alpha.device_id) == "released"
    assert claim_state(beta, session, alpha.device_id) in ("held", "released")
    assert sent_user_texts(fake_api, mark) == ["before the reboot", "after the reboot"]
    stop_pid(alpha.syncthing_home)
    assert not pid_alive(pid)


def test_cr_refuses_when_syncthing_cannot_start_and_no_lease_resumes_with_the_warning(
    pair_of_own: Cluster,
    claude: ClaudeDriver,
    claude_bin: Path,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
    tmp_path: Path,
) -> None:
    alpha = pair_of_own["alpha"]
    broken = executable(tmp_path / "broken" / "syncthing", FAILING_SYNCTHING)
    env = _env(
        claude,
        alpha,
        claude_bin,
        ROAM_SYNCTHING_HOME=str(alpha.syncthing_home),
        ROAM_SYNCTHING_BIN=str(broken),
    )
    session = claude.new(home_of(alpha), project_cwd, "one").session_id
    _stop_own_syncthing(alpha)
    mark = fake_api.mark()
    refused = run_roam(["cr", session, "--", "-p", "refused"], cwd=project_cwd, env=env)
    assert refused.returncode == 4, refused.stderr
    assert "roam could not start it" in refused.stderr
    assert "roam cr --no-lease" in refused.stderr
    assert fake_api.turns_since(mark) == []
    done = run_roam(
        ["cr", session, "--no-lease", "--", "-p", "knowingly"], cwd=project_cwd, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "--no-lease: going on without the lease" in done.stderr
    assert sent_user_texts(fake_api, mark) == ["one", "knowingly"]


def test_cr_starts_its_syncthing_with_a_machine_off_and_resumes_by_the_majority(
    own_cluster: Callable[[str], Cluster],
    claude: ClaudeDriver,
    claude_bin: Path,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    trio = own_cluster("trio")
    alpha, beta, gamma = trio["alpha"], trio["beta"], trio["gamma"]
    env = _env(claude, alpha, claude_bin, ROAM_SYNCTHING_HOME=str(alpha.syncthing_home))
    session = claude.new(home_of(alpha), project_cwd, "before the reboot").session_id
    _stop_own_syncthing(gamma)  # a machine that is off, and stays off
    _stop_own_syncthing(alpha)  # this machine, after a reboot
    mark = fake_api.mark()
    began = time.monotonic()
    done = run_roam(
        ["cr", session, "--timeout", "5", "--", "-p", "after the reboot"], cwd=project_cwd, env=env
    )
    took = time.monotonic() - began
    print(f"roam cr with Syncthing to start and a machine off: {took:.1f} s")
    assert done.returncode == 0, done.stderr
    assert claim_state(beta, session, alpha.device_id) in ("held", "released")
    assert sent_user_texts(fake_api, mark) == ["before the reboot", "after the reboot"]
    assert took < 5 + 30  # the wait for the machine that is off is bounded by --timeout
