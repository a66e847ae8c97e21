"""The bash version's habits in ``roam cr``'s engine: a new conversation where no machine has
one (once the cluster confirms it, or with a notice when nobody can be asked), and the stale
question on a terminal."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.resume.awareness import Awareness
from session_roam.engine.resume.choose import choose_session
from session_roam.engine.resume.safe import ResumeRequest, StartNewInstead
from session_roam.engine.sessions.pick import (
    NoSessionHere,
    PickedSession,
    new_session,
    pick_session,
)
from session_roam.errors import PeerUnreachable
from tests.engine.test_choose import ALPHA_DOWN, VAULT_DOWN, VAULT_UP, FakeCluster
from tests.engine.test_choose import UI as ChooseUI
from tests.engine.test_resume import (
    FakeClaude,
    FakeCoordinator,
    FakeLease,
    FakeUI,
    _resumer,
    journal,
    request_,
    session,
)

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.sessions.journal import Journal

__all__ = ["journal", "request_", "session"]  # fixtures shared with test_resume


class UI(ChooseUI):
    def __init__(self) -> None:
        super().__init__()
        self.infos: list[str] = []

    def info(self, message: str) -> None:
        self.infos.append(message)


def _none_here(tmp_path: Path) -> PickedSession:
    return pick_session(tmp_path / "empty-project", tmp_path)


def _choose(
    tmp_path: Path, cluster: FakeCluster | None, ui: UI, *, starts_new: bool = True
) -> PickedSession:
    return choose_session(
        lambda: _none_here(tmp_path),
        cluster=cluster,
        scope=lambda _name: True,
        query=None,
        force=False,
        offline=False,
        timeout_s=5,
        ui=ui,
        new=(lambda: new_session(tmp_path / "empty-project")) if starts_new else None,
    )


def test_no_session_anywhere_once_the_cluster_confirms_it_starts_a_new_one(
    tmp_path: Path,
) -> None:
    cluster = FakeCluster(Awareness((VAULT_UP,)))
    ui = UI()
    assert _choose(tmp_path, cluster, ui).chosen_by == "new"
    assert cluster.waits == 1  # asked the cluster first
    assert "No machine has a session of this directory yet" in ui.infos[0]
    assert not cluster.offline


def test_no_session_and_nobody_to_ask_starts_a_new_one_with_a_warning(tmp_path: Path) -> None:
    cluster = FakeCluster(Awareness((VAULT_DOWN, ALPHA_DOWN)))
    ui = UI()
    assert _choose(tmp_path, cluster, ui).chosen_by == "new"
    assert "No other machine could be reached" in ui.warnings[0]
    assert "starting a new conversation here" in ui.warnings[0]
    assert cluster.offline  # the new session's lease goes past the unreachable machines


def test_no_session_on_a_machine_that_does_not_sync_starts_a_new_one(tmp_path: Path) -> None:
    ui = UI()
    assert _choose(tmp_path, None, ui).chosen_by == "new"
    assert "this machine does not sync" in ui.infos[0]


def test_crf_and_cfork_never_start_a_new_one_for_want_of_a_session(tmp_path: Path) -> None:
    cluster = FakeCluster(Awareness((VAULT_DOWN,)))
    with pytest.raises(PeerUnreachable) as refused:
        _choose(tmp_path, cluster, UI(), starts_new=False)
    assert not isinstance(refused.value, NoSessionHere)


def _asking(request: ResumeRequest) -> ResumeRequest:
    return dataclasses.replace(request, ask_stale=True)  # what roam cr sets


def _stale(path: Path) -> None:
    old = time.time() - 2 * 86400 - 60
    os.utime(path, (old, old))


def test_a_stale_session_on_a_terminal_is_a_question_with_yes_by_default(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    _stale(session.path)
    ui = FakeUI(interactive=True, answer=True)
    claude = FakeClaude(session.path)
    coordinator = FakeCoordinator(FakeLease(session.path))
    _resumer(coordinator, journal, ui, claude).run(session, _asking(request_))
    assert len(ui.questions) == 1
    assert "2d 0h ago" in ui.questions[0]
    assert not any("2d 0h ago" in warning for warning in ui.warnings)  # asked, not said twice
    assert claude.argv[1:3] == ["-r", session.session_id]


def test_no_to_the_stale_question_releases_untouched_and_starts_new(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    _stale(session.path)
    before = session.path.read_bytes()
    lease = FakeLease(session.path)
    claude = FakeClaude(session.path)
    ui = FakeUI(interactive=True, answer=False)
    with pytest.raises(StartNewInstead):
        _resumer(FakeCoordinator(lease), journal, ui, claude).run(session, _asking(request_))
    assert claude.argv == []  # claude never ran on the stale session
    assert session.path.read_bytes() == before
    assert lease.released == [None]  # let go without a stamp: nothing was written


def test_a_stale_session_without_a_terminal_is_only_a_warning(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    _stale(session.path)
    ui = FakeUI(interactive=False)
    _resumer(FakeCoordinator(FakeLease(session.path)), journal, ui, FakeClaude(session.path)).run(
        session, request_
    )
    assert ui.questions == []
    assert any("2d 0h ago" in warning for warning in ui.warnings)


def test_a_fork_of_a_stale_session_is_not_asked_about(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    _stale(session.path)  # crf and cfork leave ask_stale off: they start something new anyway
    ui = FakeUI(interactive=True, answer=False)
    _resumer(FakeCoordinator(FakeLease(session.path)), journal, ui, FakeClaude(session.path)).run(
        session, request_
    )
    assert ui.questions == []
