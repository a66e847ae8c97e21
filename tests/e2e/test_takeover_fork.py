"""A take-over, then the old holder's late turn in the same file (issue 20, case 2).

alpha is closed in the middle of a turn (its claude waits for the model's reply); beta takes the
session over with ``roam cr --force`` and continues; alpha comes back, receives beta's version,
and its still-running claude appends its late reply to the file that already holds beta's turn.
No conflict copy is made. The next ``roam cr`` on either machine must resume every turn of both
machines: what the real client sends to the Messages API is the ground truth.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest

from session_roam.engine.conflicts.forks import file_has_fork
from tests.e2e.cr_support import home_of, roam_env, run_roam, start_roam
from tests.support.claude import ClaudeDriver
from tests.support.cluster import reconnect, wait_until
from tests.support.conversation import conversation_of
from tests.support.fake_api import FakeMessagesApi, Reply, decide_reply, last_user_text

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode

pytestmark = pytest.mark.e2e

LATE = "three on alpha, answered late"


class _HeldReply:
    """Answers every call at once, except the one for LATE, which waits for ``let_go``."""

    def __init__(self) -> None:
        self.let_go = threading.Event()

    def __call__(self, messages: Sequence[Mapping[str, Any]], serial: int) -> Reply:
        if last_user_text(messages) == LATE:
            self.let_go.wait(timeout=120)
        return decide_reply(messages, serial)


@pytest.fixture
def held() -> _HeldReply:
    return _HeldReply()


@pytest.fixture
def api(held: _HeldReply) -> Iterator[FakeMessagesApi]:
    with FakeMessagesApi(held) as server:
        yield server
    held.let_go.set()


@pytest.fixture
def driver(claude_bin: Path, api: FakeMessagesApi) -> ClaudeDriver:
    return ClaudeDriver(claude_bin, api.base_url)


def _file_of(node: ClusterNode, cwd: Path, session: str) -> Path:
    return home_of(node).session_file(cwd, session)


def _holds(node: ClusterNode, cwd: Path, session: str, text: str) -> bool:
    try:
        return text in _file_of(node, cwd, session).read_text()
    except OSError:
        return False


def _every_turn_of_both_sent(api: FakeMessagesApi, mark: int, newest: str) -> None:
    """The model saw each machine's prompts once, alpha's late reply, and the order they had."""
    turns = api.turns_since(mark)
    assert turns, "the client sent no model call"
    conversation = conversation_of(turns[0].messages)
    users, replies = conversation.user_texts, conversation.assistant_texts
    said = "\n".join(users)
    for text in ("one on alpha", "two on alpha", LATE, "four on beta", newest):
        assert said.count(text) == 1, (text, users)
    assert f"reply to: {LATE}" in replies, replies
    assert said.index(LATE) < said.index("four on beta") < said.index(newest)


@pytest.fixture
def forked(
    connected: Cluster,
    driver: ClaudeDriver,
    claude_bin: Path,
    api: FakeMessagesApi,
    held: _HeldReply,
    project_cwd: Path,
) -> str:
    """The session after the take-over and alpha's late reply, on both machines."""
    alpha, beta = connected["alpha"], connected["beta"]
    session = driver.new(home_of(alpha), project_cwd, "one on alpha").session_id
    on_alpha = roam_env(driver, alpha, claude_bin)
    second = run_roam(["cr", session, "--", "-p", "two on alpha"], cwd=project_cwd, env=on_alpha)
    assert second.returncode == 0, second.stderr
    late = start_roam(["cr", session, "--", "-p", LATE], cwd=project_cwd, env=on_alpha)
    try:
        wait_until(
            lambda: _holds(beta, project_cwd, session, LATE),
            timeout_s=30,
            what="alpha's third prompt to reach beta",
        )
        alpha.client.pause(beta.device_id)  # the lid closes; alpha's claude waits for the model
        beta.client.pause(alpha.device_id)
        forced = run_roam(
            ["cr", "--force", session, "--", "-p", "four on beta"],
            cwd=project_cwd,
            env=roam_env(driver, beta, claude_bin),
        )
        assert forced.returncode == 0, forced.stderr
        reconnect(connected)  # the lid opens
        wait_until(
            lambda: _holds(alpha, project_cwd, session, "four on beta"),
            timeout_s=60,
            what="beta's turn to reach alpha",
        )
        held.let_go.set()  # the late reply lands in the file that holds beta's turn
        late.communicate(timeout=120)
    finally:
        held.let_go.set()
        if late.poll() is None:
            late.kill()
            late.communicate()
    wait_until(
        lambda: _holds(beta, project_cwd, session, f"reply to: {LATE}"),
        timeout_s=60,
        what="alpha's late reply to reach beta",
    )
    project = home_of(beta).project_dir(project_cwd)
    assert not list(project.glob("*.sync-conflict-*")), "expected a fork inside the file"
    return session


@pytest.mark.parametrize("machine", ["beta", "alpha"], ids=["new-holder", "old-holder"])
def test_takeover_fork_next_cr_on_either_machine_resumes_every_turn_of_both(
    connected: Cluster,
    forked: str,
    driver: ClaudeDriver,
    claude_bin: Path,
    api: FakeMessagesApi,
    project_cwd: Path,
    machine: str,
) -> None:
    node = connected[machine]
    wait_until(
        lambda: _holds(node, project_cwd, forked, f"reply to: {LATE}"),
        timeout_s=30,
        what=f"{machine} to hold alpha's late reply",
    )
    mark = api.mark()
    resumed = run_roam(
        ["cr", forked, "--", "-p", f"five on {machine}"],
        cwd=project_cwd,
        env=roam_env(driver, node, claude_bin),
    )
    assert resumed.returncode == 0, resumed.stderr
    _every_turn_of_both_sent(api, mark, f"five on {machine}")


def test_takeover_fork_is_joined_by_roam_watch_started_after_it_happened(
    connected: Cluster,
    forked: str,
    driver: ClaudeDriver,
    claude_bin: Path,
    api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    beta = connected["beta"]
    path = _file_of(beta, project_cwd, forked)
    watcher = start_roam(
        ["watch", "--debounce", "0.2"], cwd=project_cwd, env=roam_env(driver, beta, claude_bin)
    )
    try:
        wait_until(
            lambda: not file_has_fork(path),
            timeout_s=60,
            what="roam watch on beta to join the fork",
        )
    finally:
        watcher.terminate()
        watcher.communicate(timeout=30)
    mark = api.mark()
    driver.resume(home_of(beta), project_cwd, forked, "five, plain claude on beta")
    _every_turn_of_both_sent(api, mark, "five, plain claude on beta")
