"""``roam cr`` hands a session over while one machine is off, through an always-on vault.

Three real Syncthing nodes (``tests.support.vault``): trusted ``alpha`` and ``beta`` peer with
each other and with ``vault``, an always-on node that holds the folder encrypted and never runs
roam. With one machine off, the other one plus the vault are a majority of the three, so roam
can still grant the lease (degraded mode) - but only when the absent machine released the
session cleanly: a machine that went off mid-session may hold a turn nobody else has.

What the real client sends to the fake Messages API is the ground truth, as in
``test_cr_handoff``. The cluster is shared by the module; ``online`` puts every machine back on
and connected after each test. The last test searches the vault for anything the earlier
tests wrote, so the tests run in file order.
"""

from __future__ import annotations

import datetime
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pytest

from tests.e2e.cr_support import claim_state, executable, home_of, protect_markers, sent_user_texts
from tests.support.claude import project_slug
from tests.support.cluster import wait_until
from tests.support.vault import VAULT_PASSWORD, Vaulted, connected, running_vaulted

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import ClusterNode
    from tests.e2e.cr_support import Roam
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e

#: Stand-in for claude: waits for a gate, makes the real client's turn, says so, and then stays
#: (an interactive session still open) until the test kills it.
HOLD_SCRIPT: Final = """#!/bin/sh
while [ ! -e "$ROAM_TEST_GATE" ]; do sleep 0.05; done
"$ROAM_TEST_REAL_CLAUDE" "$@" || exit $?
echo $$ > "$ROAM_TEST_DONE"
exec sleep 120
"""

FIRST: Final = "the first turn, made on alpha"
ON_ALPHA: Final = "alpha's last turn, left on the vault"
UNSYNCED: Final = "alpha's turn that never left alpha"
ON_BETA: Final = "beta's turn while alpha is off"
AFTER: Final = "beta's turn after the merge"
VAULTED_PHRASE: Final = "the purple elephant recites Rilke to the vault"


class Needles:
    """What the vault must never hold in plain text, gathered by every test of the module."""

    def __init__(self) -> None:
        self.items: set[str] = {VAULT_PASSWORD}

    def add(self, *texts: str) -> None:
        self.items.update(texts)


@pytest.fixture(scope="module")
def always_on(tmp_path_factory: pytest.TempPathFactory, syncthing_bin: str) -> Iterator[Vaulted]:
    with running_vaulted(tmp_path_factory.mktemp("always-on"), syncthing_bin) as vaulted:
        yield vaulted


@pytest.fixture(scope="module")
def needles() -> Needles:
    return Needles()


@pytest.fixture
def online(always_on: Vaulted) -> Iterator[Vaulted]:
    """The module's trio with every machine on; back on, resumed and connected afterwards."""
    always_on.restore()
    protect_markers(always_on.cluster)
    yield always_on
    always_on.restore()


@pytest.fixture
def remember(needles: Needles, project_cwd: Path) -> Needles:
    """``needles`` with this test's project slug already in it."""
    needles.add(project_slug(str(project_cwd)).lstrip("-"))
    return needles


def _session_text(node: ClusterNode, cwd: Path, session: str) -> str:
    try:
        return home_of(node).session_file(cwd, session).read_text(encoding="utf-8")
    except FileNotFoundError:  # a receiver replaces files: the path briefly disappears
        return ""


def _seen_since(node: ClusterNode, device_id: str, since: datetime.datetime) -> bool:
    """Whether ``node`` had a connection to ``device_id`` at or after ``since``, from Syncthing's
    API (``/rest/stats/device``), not from its log, whose wording differs between versions.
    Syncthing keeps that time in whole seconds: ``since`` must be on a second's boundary
    (``_next_whole_second``)."""
    seen = node.client.device_last_seen().get(device_id)
    return seen is not None and seen >= since


def _next_whole_second() -> datetime.datetime:
    """The next whole second, once it has come. Syncthing keeps a device's last-seen time
    truncated to the second (lib/stats/device.go ``WasSeen``), so only a mark on a second's
    boundary tells apart a connection before it (an earlier second) and one after it (that
    second or a later one): a mark taken mid-second made a later connection look older, and
    its truncation made an earlier one look newer."""
    now = datetime.datetime.now(datetime.UTC)
    boundary = now.replace(microsecond=0) + datetime.timedelta(seconds=1)
    time.sleep((boundary - now).total_seconds())
    return boundary


def test_always_on_resumes_on_beta_the_turn_alpha_left_on_the_vault_before_going_off(
    online: Vaulted,
    roam: Roam,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
    remember: Needles,
) -> None:
    alpha, beta = online["alpha"], online["beta"]
    session = roam.new_session(alpha, FIRST)
    remember.add(session, FIRST, ON_ALPHA, ON_BETA)
    wait_until(
        lambda: FIRST in _session_text(beta, project_cwd, session),
        timeout_s=30,
        what="beta to have the session's first turn",
    )
    online.stop("beta")
    on_alpha = roam.run(alpha, ["cr", session, "--", "-p", ON_ALPHA])
    assert on_alpha.returncode == 0, on_alpha.stderr
    online.push_to_vault("alpha")  # alpha's last turn and its release stamp are on the vault
    online.stop("alpha")
    since = _next_whole_second()
    online.start("beta")
    online.wait_connected("beta")  # to the vault: alpha is off
    mark = fake_api.mark()
    on_beta = roam.run(beta, ["cr", session, "--", "-p", ON_BETA])
    assert on_beta.returncode == 0, on_beta.stderr
    assert sent_user_texts(fake_api, mark) == [FIRST, ON_ALPHA, ON_BETA]
    assert _seen_since(beta, online.vault_id, since), "the connection check is blind"
    assert not _seen_since(beta, alpha.device_id, since), "beta got the turn from alpha itself"


@dataclass(frozen=True, slots=True)
class WentOff:
    """alpha was writing ``session`` when it went off: its last turn is on alpha only."""

    session: str


@pytest.fixture
def alpha_went_off_mid_session(
    online: Vaulted,
    roam: Roam,
    project_cwd: Path,
    tmp_path: Path,
    remember: Needles,
) -> WentOff:
    """alpha holds the lease, is cut off, writes a turn, and dies with its Syncthing, unreleased."""
    alpha, beta = online["alpha"], online["beta"]
    session = roam.new_session(alpha, FIRST)
    remember.add(session, FIRST, UNSYNCED)
    gate, done = tmp_path / "gate", tmp_path / "done"
    stand_in = executable(tmp_path / "bin" / "claude", HOLD_SCRIPT)
    env = roam.env(alpha, stand_in, ROAM_TEST_GATE=str(gate), ROAM_TEST_DONE=str(done))
    # roam cr and its claude in one group, SIGKILLed mid-session: roam never releases
    with roam.group(["cr", session, "--", "-p", UNSYNCED], env):
        wait_until(
            lambda: claim_state(beta, session, alpha.device_id) == "held",
            timeout_s=30,
            what="beta to see alpha holding the lease",
        )
        wait_until(
            lambda: FIRST in _session_text(beta, project_cwd, session),
            timeout_s=30,
            what="beta to have the session's first turn",
        )
        alpha.client.pause()  # every device: alpha's next turn stays on alpha
        wait_until(
            lambda: not any(connected(alpha.client, d) for d in online.peers_of("alpha")),
            timeout_s=10,
            what="alpha cut off",
        )
        gate.touch()
        wait_until(done.exists, timeout_s=60, what="alpha's client to write its turn")
        assert UNSYNCED in _session_text(alpha, project_cwd, session)
    online.stop("alpha")
    assert UNSYNCED not in _session_text(beta, project_cwd, session)
    return WentOff(session)


def test_always_on_refuses_a_session_whose_holder_went_off_without_releasing(
    online: Vaulted,
    alpha_went_off_mid_session: WentOff,
    roam: Roam,
    fake_api: FakeMessagesApi,
) -> None:
    session = alpha_went_off_mid_session.session
    mark = fake_api.mark()
    refused = roam.run(online["beta"], ["cr", session, "--", "-p", ON_BETA])
    assert refused.returncode == 5, refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, refused.stderr
    assert "alpha" in errors[0]
    assert re.search(r"not connected|unreachable|never released|has not released", errors[0])
    assert re.search(r"This machine has \d+ turns? of it; the last, at ", errors[0])
    assert "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert fake_api.turns_since(mark) == []


def test_always_on_forced_takeover_then_merge_keeps_both_machines_turns(
    online: Vaulted,
    alpha_went_off_mid_session: WentOff,
    roam: Roam,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
    remember: Needles,
) -> None:
    alpha, beta = online["alpha"], online["beta"]
    session = alpha_went_off_mid_session.session
    remember.add(ON_BETA, AFTER)
    mark = fake_api.mark()
    forced = roam.run(beta, ["cr", "--force", session, "--", "-p", ON_BETA])
    assert forced.returncode == 0, forced.stderr
    assert sent_user_texts(fake_api, mark) == [FIRST, ON_BETA]
    online.start("alpha")  # alpha wakes up, still paused as it was left
    alpha.client.resume()
    online.wait_connected("alpha")
    online.wait_connected("beta")
    project = home_of(beta).project_dir(project_cwd)
    wait_until(
        lambda: any(project.glob(f"{session}.sync-conflict-*.jsonl")),
        timeout_s=30,
        what="alpha's version to reach beta as a conflict copy",
    )
    merged = roam.run(beta, ["conflicts", "merge", session])
    assert merged.returncode == 0, merged.stderr
    mark = fake_api.mark()
    resumed = roam.run(beta, ["cr", session, "--", "-p", AFTER])
    assert resumed.returncode == 0, resumed.stderr
    # every turn of both machines, each once, in the order they were written
    assert sent_user_texts(fake_api, mark) == [FIRST, UNSYNCED, ON_BETA, AFTER]


def test_always_on_vault_holds_no_plaintext_of_any_session(
    online: Vaulted,
    roam: Roam,
    remember: Needles,
) -> None:
    alpha = online["alpha"]
    session = roam.new_session(alpha, VAULTED_PHRASE)
    remember.add(session, VAULTED_PHRASE)
    for node in online.trusted:
        online.push_to_vault(node.name)
    root = online.vault.home.parent  # the stored folder, and Syncthing's database and log too
    files = [p for p in root.rglob("*") if p.is_file()]
    stored = [p for p in online.vault_dir.rglob("*") if p.is_file()]
    assert any(not p.relative_to(online.vault_dir).parts[0].startswith(".st") for p in stored)
    for path in files:
        blob = path.read_bytes()
        name = str(path.relative_to(root))
        for needle in sorted(remember.items):
            assert needle.encode() not in blob, f"{needle!r} in plain text in vault/{name}"
            assert needle not in name, f"{needle!r} in a file name on the vault: {name}"
