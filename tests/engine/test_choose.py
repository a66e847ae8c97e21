"""engine.choose: ``roam cr`` picks only once it knows what the cluster has, or says it cannot."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.resume.awareness import INDEXED, UNREACHABLE, Awareness, PeerView
from session_roam.engine.resume.choose import choose_session
from session_roam.engine.sessions.pick import PickedSession
from session_roam.errors import PeerUnreachable, SessionNotFound, SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Callable

S1 = "11111111-1111-4111-8111-111111111111"
S2 = "22222222-2222-4222-8222-222222222222"
VAULT_UP = PeerView("V", "vault", INDEXED)
VAULT_DOWN = PeerView("V", "vault", UNREACHABLE, "connection refused")
ALPHA_DOWN = PeerView("A", "alpha", UNREACHABLE, "connection refused")


class FakeCluster:
    """Answers with ``seen``; ``on_arrival`` is what the wait makes arrive on this machine."""

    def __init__(self, seen: Awareness, on_arrival: Callable[[], None] = lambda: None) -> None:
        self.seen = seen
        self.on_arrival = on_arrival
        self.waits = 0
        self.offline = False

    def await_cluster(
        self, scope: Callable[[str], bool], *, timeout_s: float, on_wait: Callable[[str], None]
    ) -> Awareness:
        self.waits += 1
        self.on_arrival()
        return self.seen

    def go_offline(self) -> None:
        self.offline = True


class UI:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def info(self, message: str) -> None: ...
    def confirm(self, question: str, *, default: bool = False) -> bool:
        return False

    @property
    def interactive(self) -> bool:
        return False

    def waiting(self, message: str) -> None: ...


class Here:
    """This machine's sessions: what ``pick`` finds."""

    def __init__(self, *sessions: str) -> None:
        self.sessions = list(sessions)

    def pick(self) -> PickedSession:
        if not self.sessions:
            raise SessionNotFound("No session here yet.")
        newest = self.sessions[-1]
        return PickedSession(newest, Path(f"/p/{newest}.jsonl"), None, "newest")


def _choose(
    here: Here,
    cluster: FakeCluster | None,
    *,
    query: str | None = None,
    force: bool = False,
    offline: bool = False,
    ui: UI | None = None,
) -> PickedSession:
    return choose_session(
        here.pick,
        cluster=cluster,
        scope=lambda _name: True,
        query=query,
        force=force,
        offline=offline,
        timeout_s=5,
        ui=ui or UI(),
    )


def test_choose_picks_after_the_peers_index_brought_a_newer_session() -> None:
    here = Here(S1)
    cluster = FakeCluster(Awareness((VAULT_UP, ALPHA_DOWN)), lambda: here.sessions.append(S2))
    assert _choose(here, cluster).session_id == S2


def test_choose_refuses_naming_the_local_choice_when_no_machine_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "session_roam.engine.resume.choose.what_is_here", lambda _s: "This machine has 1 turn."
    )
    cluster = FakeCluster(Awareness((VAULT_DOWN, ALPHA_DOWN)))
    with pytest.raises(PeerUnreachable) as refused:
        _choose(Here(S1), cluster)
    assert "No other machine could be reached within 5 s" in refused.value.message
    assert f"it would resume {S1}" in refused.value.message
    assert "--offline" in refused.value.hint


def test_choose_with_offline_resumes_the_local_choice_and_says_it_may_be_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = FakeCluster(Awareness((VAULT_DOWN, ALPHA_DOWN)))
    ui = UI()
    assert _choose(Here(S1), cluster, offline=True, ui=ui).session_id == S1
    assert cluster.offline
    assert "may not be the newest" in ui.warnings[0]


def test_choose_with_offline_still_uses_a_peer_that_answers() -> None:
    here = Here(S1)
    cluster = FakeCluster(Awareness((VAULT_UP,)), lambda: here.sessions.append(S2))
    assert _choose(here, cluster, offline=True).session_id == S2
    assert not cluster.offline


def test_choose_says_no_session_only_after_the_cluster_has_none_either() -> None:
    cluster = FakeCluster(Awareness((VAULT_UP,)))
    with pytest.raises(SessionNotFound):
        _choose(Here(), cluster)
    assert cluster.waits == 1


def test_choose_refuses_when_a_peer_index_did_not_arrive_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("session_roam.engine.resume.choose.what_is_here", lambda _s: "")
    slow = PeerView("V", "vault", "awaiting-index", "its index is arriving")
    with pytest.raises(SyncTimeout, match="vault \\(its index is arriving\\)"):
        _choose(Here(S1), FakeCluster(Awareness((slow, PeerView("B", "b", INDEXED)))))


def test_choose_resumes_a_session_asked_for_and_present_without_waiting() -> None:
    cluster = FakeCluster(Awareness((VAULT_DOWN,)))
    assert _choose(Here(S1), cluster, query=S1).session_id == S1
    assert cluster.waits == 0


def test_choose_waits_for_a_session_asked_for_that_is_not_here_yet() -> None:
    here = Here()
    cluster = FakeCluster(Awareness((VAULT_UP,)), lambda: here.sessions.append(S2))
    assert _choose(here, cluster, query=S2).session_id == S2


def test_choose_with_force_picks_from_what_is_here_without_asking() -> None:
    cluster = FakeCluster(Awareness((VAULT_DOWN,)))
    assert _choose(Here(S1), cluster, force=True).session_id == S1
    assert cluster.waits == 0
