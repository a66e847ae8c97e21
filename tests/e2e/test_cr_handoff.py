"""``roam cr`` hands a session from one real machine to another (real Syncthing, real claude).

What the resumed client sends to the Messages API is the ground truth: after ``roam cr`` on
beta, the model must see every turn alpha made, in order. When alpha's last turn cannot reach
beta, beta must refuse rather than resume the older copy.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from tests.e2e.cr_support import (
    GATE_SCRIPT,
    claim_state,
    executable,
    roam_argv,
    run_roam,
    sent_user_texts,
)
from tests.support.cluster import reconnect, wait_until
from tests.support.conversation import conversation_of

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster
    from tests.e2e.cr_support import Roam
    from tests.support.claude import ClaudeDriver, MakeHome
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def _alpha_holding(
    cluster: Cluster, roam: Roam, session: str, text: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """alpha's ``roam cr SESSION -- -p TEXT`` holding the lease, its claude held at a gate
    until the test touches it; beta already sees alpha holding."""
    alpha, beta = cluster["alpha"], cluster["beta"]
    gate = tmp_path / "gate"
    gated = executable(tmp_path / "bin" / "claude", GATE_SCRIPT)
    writer = roam.start(
        ["cr", session, "--", "-p", text], roam.env(alpha, gated, ROAM_TEST_GATE=str(gate))
    )
    try:
        wait_until(
            lambda: claim_state(beta, session, alpha.device_id) == "held",
            timeout_s=30,
            what="beta to see alpha holding the lease",
        )
        # The claim is scanned at once, the session file only after the watcher delay: wait
        # for it too, so that what is held back is the last turn, not the whole session.
        wait_until(
            lambda: any(beta.projects_dir.glob(f"*/{session}.jsonl")),
            timeout_s=30,
            what="beta to have the session's first turn",
        )
        yield writer, gate
    finally:
        if writer.poll() is None:  # let the gated claude go, so nothing is left running
            gate.touch()
            try:
                writer.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                writer.kill()
                writer.communicate(timeout=10)


def test_cr_handoff_resumes_every_turn_made_on_the_other_machine(
    connected: Cluster, roam: Roam, fake_api: FakeMessagesApi
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    session = roam.new_session(alpha, "one on alpha")
    on_alpha = roam.run(alpha, ["cr", session, "--", "-p", "two on alpha"])
    assert on_alpha.returncode == 0, on_alpha.stderr
    mark = fake_api.mark()
    on_beta = roam.run(beta, ["cr", session, "--", "-p", "three on beta"])
    assert on_beta.returncode == 0, on_beta.stderr
    assert sent_user_texts(fake_api, mark) == ["one on alpha", "two on alpha", "three on beta"]


def test_cr_refuses_when_the_last_turn_is_held_back_then_resumes_it_once_it_arrives(
    connected: Cluster, roam: Roam, fake_api: FakeMessagesApi, tmp_path: Path
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    session = roam.new_session(alpha, "first")
    with _alpha_holding(connected, roam, session, "held back", tmp_path) as (writer, gate):
        # Cut the link while alpha writes: its last turn and its release stay on alpha.
        alpha.client.pause(beta.device_id)
        beta.client.pause(alpha.device_id)
        gate.touch()
        _out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    mark = fake_api.mark()
    refused = roam.run(beta, ["cr", session, "--", "-p", "on beta"])
    assert refused.returncode in (4, 5), refused.stderr
    assert "error:" in refused.stderr
    assert fake_api.turns_since(mark) == []
    reconnect(connected)  # both resume, beta (which never dials) first
    started = time.monotonic()
    resumed = roam.run(beta, ["cr", session, "--", "-p", "on beta"])
    assert resumed.returncode == 0, resumed.stderr
    assert time.monotonic() - started < 60
    assert sent_user_texts(fake_api, mark) == ["first", "held back", "on beta"]


def test_cr_on_a_held_session_exits_5_and_offers_to_wait(
    connected: Cluster, roam: Roam, tmp_path: Path
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    session = roam.new_session(alpha, "first")
    with _alpha_holding(connected, roam, session, "still on alpha", tmp_path) as (writer, gate):
        refused = roam.run(beta, ["cr", session, "--", "-p", "on beta"])
        gate.touch()
        writer.communicate(timeout=120)
    assert refused.returncode == 5, refused.stderr
    assert f"roam cr --wait {session}" in refused.stderr
    assert "alpha" in refused.stderr


def test_cr_wait_starts_on_the_other_machine_once_the_holder_is_done(
    connected: Cluster, roam: Roam, fake_api: FakeMessagesApi, tmp_path: Path
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    session = roam.new_session(alpha, "first")
    said = tmp_path / "beta-stderr"
    with (
        _alpha_holding(connected, roam, session, "last on alpha", tmp_path) as (writer, gate),
        said.open("w") as stderr,
    ):
        # stderr to a file: the test waits for the sentence itself, since a claim seen at
        # alpha may still be beta's first (fast) one, before it queued
        waiter = subprocess.Popen(
            roam_argv(["cr", "--wait", session, "--", "-p", "on beta"]),
            cwd=roam.cwd,
            env=roam.env(beta),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            wait_until(
                lambda: waiter.poll() is not None or "Waiting for alpha" in said.read_text(),
                timeout_s=30,
                what="beta to queue behind alpha",
            )
            assert waiter.poll() is None, said.read_text()
            mark = fake_api.mark()
            gate.touch()
            _out, err_alpha = writer.communicate(timeout=120)
            waiter.wait(timeout=120)
        finally:
            if waiter.poll() is None:
                waiter.kill()
                waiter.wait()
    err_beta = said.read_text()
    assert writer.returncode == 0, err_alpha
    assert waiter.returncode == 0, err_beta
    assert "Waiting for alpha" in err_beta
    turns = fake_api.turns_since(mark)
    assert conversation_of(turns[-1].messages).user_texts == ["first", "last on alpha", "on beta"]


def test_cr_with_no_syncthing_warns_and_resumes_locally(
    claude: ClaudeDriver,
    claude_bin: Path,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
    make_home: MakeHome,
) -> None:
    home = make_home("solo")
    claude.new(home, project_cwd, "solo one")
    env = claude.environment(home)
    env.update(
        ROAM_CLAUDE_BIN=str(claude_bin),
        XDG_CONFIG_HOME=str(home.path / ".config"),
        XDG_STATE_HOME=str(home.path / ".local" / "state"),
        STHOMEDIR=str(home.path / "no-syncthing-here"),
    )
    mark = fake_api.mark()
    done = run_roam(["cr", "--", "-p", "solo two"], cwd=project_cwd, env=env)
    assert done.returncode == 0, done.stderr
    assert "cannot coordinate" in done.stderr
    assert sent_user_texts(fake_api, mark) == ["solo one", "solo two"]
