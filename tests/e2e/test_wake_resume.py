"""``roam cr`` on a machine that just woke resumes what the cluster has (issue 18).

Real nodes (``tests.support.vault``): trusted ``alpha`` and ``beta`` and an always-on ``vault``
holding the folder encrypted, with the real client against the stand-in Messages API. In each
story beta is off while alpha works, alpha pushes its work to the vault and goes off, then
beta's Syncthing starts and ``roam cr`` runs at once: whatever beta resumes reached it only
through the vault. What the real client sends is the ground truth.

Wake-to-resume (beta's Syncthing launched until roam starts claude) is measured by a stand-in
claude that stamps the time and then becomes the real one; with ``WAKE_TIMES_FILE=FILE`` each
time is appended to FILE (seconds, one per line) for the report.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Final

import pytest

from tests.e2e.cr_support import executable, home_of, protect_markers, sent_user_texts
from tests.support.cluster import wait_until
from tests.support.vault import Vaulted, running_vaulted

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import ClusterNode
    from tests.e2e.cr_support import Roam
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e

#: Stand-in for claude: note when roam launched it, then be the real client.
STAMP_SCRIPT: Final = """#!/bin/sh
date +%s.%N > "$ROAM_TEST_STARTED"
exec "$ROAM_TEST_REAL_CLAUDE" "$@"
"""

OLD: Final = "the older conversation, which beta has"
NEW: Final = "a new conversation alpha started while beta was off"
MORE: Final = "alpha continued it with roam cr"
ON_BETA: Final = "beta, just woken, carries on"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory, syncthing_bin: str) -> Iterator[Vaulted]:
    with running_vaulted(tmp_path_factory.mktemp("wake"), syncthing_bin) as vaulted:
        yield vaulted


@pytest.fixture
def cluster(nodes: Vaulted) -> Iterator[Vaulted]:
    """Every machine on and connected before and after each story."""
    nodes.restore()
    protect_markers(nodes.cluster)
    yield nodes
    nodes.vault_client.resume()
    nodes.restore()


def _has(node: ClusterNode, cwd: Path, session: str, text: str) -> bool:
    try:
        return text in home_of(node).session_file(cwd, session).read_text(encoding="utf-8")
    except FileNotFoundError:  # a receiver replaces files: the path briefly disappears
        return False


def _alpha_works_while_beta_is_off(cluster: Vaulted, roam: Roam, args: list[str]) -> str:
    """beta goes off; alpha starts a session, continues it with ``roam cr ARGS``, pushes it to
    the vault and goes off too. Returns the session id."""
    alpha = cluster["alpha"]
    cluster.stop("beta")
    session = roam.new_session(alpha, NEW)
    on_alpha = roam.run(alpha, [*(a if a != "{id}" else session for a in args), "--", "-p", MORE])
    assert on_alpha.returncode == 0, on_alpha.stderr
    cluster.push_to_vault("alpha")
    cluster.stop("alpha")
    return session


def _wake_and_resume(
    cluster: Vaulted, roam: Roam, tmp_path: Path, args: list[str]
) -> subprocess.CompletedProcess[str]:
    """Start beta's Syncthing and at once run ``roam ARGS`` there; record wake-to-resume."""
    started = tmp_path / "claude-started"
    stand_in = executable(tmp_path / "bin" / "claude", STAMP_SCRIPT)
    env = roam.env(cluster["beta"], stand_in, ROAM_TEST_STARTED=str(started))
    woke = time.time()
    cluster.start("beta")  # returns as soon as its REST API answers
    answering = time.time()
    done = roam.run(cluster["beta"], args, env)
    if started.exists() and (record := os.environ.get("WAKE_TIMES_FILE")):
        with open(record, "a", encoding="utf-8") as times:  # total, then roam's part of it
            resumed = float(started.read_text())
            times.write(f"{resumed - woke:.3f} {resumed - answering:.3f}\n")
    return done


@pytest.mark.parametrize("command", ["cr", "crf"])
def test_wake_resumes_the_session_alpha_started_while_beta_was_off(
    cluster: Vaulted,
    roam: Roam,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
    tmp_path: Path,
    command: str,
) -> None:
    older = roam.new_session(cluster["alpha"], OLD)
    wait_until(
        lambda: _has(cluster["beta"], project_cwd, older, OLD),
        timeout_s=30,
        what="beta to have the older session",
    )
    newer = _alpha_works_while_beta_is_off(cluster, roam, ["cr"])
    mark = fake_api.mark()
    resumed = _wake_and_resume(cluster, roam, tmp_path, [command, "--", "-p", ON_BETA])
    assert resumed.returncode == 0, resumed.stderr
    assert sent_user_texts(fake_api, mark) == [NEW, MORE, ON_BETA]
    # cr continues alpha's session; crf forks it and leaves it as it was
    assert _has(cluster["beta"], project_cwd, newer, ON_BETA) is (command == "cr")


@pytest.mark.parametrize("asked", ["newest", "by id"])
def test_wake_resumes_a_session_this_machine_never_had(
    cluster: Vaulted, roam: Roam, fake_api: FakeMessagesApi, tmp_path: Path, asked: str
) -> None:
    session = _alpha_works_while_beta_is_off(cluster, roam, ["cr"])
    query = [session] if asked == "by id" else []
    mark = fake_api.mark()
    resumed = _wake_and_resume(cluster, roam, tmp_path, ["cr", *query, "--", "-p", ON_BETA])
    assert resumed.returncode == 0, resumed.stderr
    assert sent_user_texts(fake_api, mark) == [NEW, MORE, ON_BETA]


def test_wake_ls_lists_the_session_alpha_started_while_beta_was_off(
    cluster: Vaulted, roam: Roam
) -> None:
    session = _alpha_works_while_beta_is_off(cluster, roam, ["cr"])
    cluster.start("beta")
    listed = roam.run(cluster["beta"], ["ls", "--json"])
    assert listed.returncode == 0, listed.stderr
    assert [s["session_id"] for s in json.loads(listed.stdout)] == [session]
    assert "note:" not in listed.stderr


def test_wake_resumes_alphas_new_turn_of_a_session_beta_had_an_older_copy_of(
    cluster: Vaulted,
    roam: Roam,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
    tmp_path: Path,
) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    session = roam.new_session(alpha, OLD)
    wait_until(
        lambda: _has(beta, project_cwd, session, OLD), timeout_s=30, what="beta's older copy"
    )
    cluster.stop("beta")
    on_alpha = roam.run(alpha, ["cr", "--", "-p", MORE])
    assert on_alpha.returncode == 0, on_alpha.stderr
    cluster.push_to_vault("alpha")
    cluster.stop("alpha")
    mark = fake_api.mark()
    resumed = _wake_and_resume(cluster, roam, tmp_path, ["cr", "--", "-p", ON_BETA])
    assert resumed.returncode == 0, resumed.stderr
    assert sent_user_texts(fake_api, mark) == [OLD, MORE, ON_BETA]


def test_wake_with_no_machine_reachable_says_so_and_offline_resumes_the_local_copy(
    cluster: Vaulted,
    roam: Roam,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
    tmp_path: Path,
) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    session = roam.new_session(alpha, OLD)
    wait_until(lambda: _has(beta, project_cwd, session, OLD), timeout_s=30, what="beta's copy")
    cluster.stop("alpha")
    cluster.stop("beta")
    cluster.vault_client.pause(beta.device_id)  # the vault will not talk to beta
    mark = fake_api.mark()
    refused = _wake_and_resume(cluster, roam, tmp_path, ["cr", "--timeout", "2"])
    assert refused.returncode == 4, refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, refused.stderr
    assert "No other machine could be reached within 2 s" in errors[0]
    assert f"it would resume {session}" in errors[0]
    assert "--offline" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert fake_api.turns_since(mark) == []
    listed = roam.run(beta, ["ls"])
    assert listed.returncode == 0, listed.stderr
    assert "note:" in listed.stderr
    assert "may not be everything" in listed.stderr
    offline = roam.run(beta, ["cr", "--offline", "--timeout", "2", "--", "-p", ON_BETA])
    assert offline.returncode == 0, offline.stderr
    assert "may not be the newest" in offline.stderr
    assert sent_user_texts(fake_api, mark) == [OLD, ON_BETA]
