from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from session_roam.engine.claude.launch import ChildExit, run_child
from session_roam.engine.lease.api import file_stamp
from session_roam.engine.resume.safe import Resumer, ResumeRequest
from session_roam.engine.resume.signals import Terminated
from session_roam.engine.sessions.journal import Journal
from session_roam.engine.sessions.pick import PickedSession
from session_roam.errors import HeldElsewhere, HolderOffline, InvalidInput, LeaseHeld, SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from session_roam.engine.lease.model import ReleaseStamp


SID = "aaaaaaaa-1111-4111-8111-111111111111"


def _row(uuid: str, parent: str | None, cwd: str = "/work/proj") -> bytes:
    return json.dumps({"type": "user", "uuid": uuid, "parentUuid": parent, "cwd": cwd}).encode()


@dataclass
class FakeLease:
    """Stamps like the real lease: the file's bytes when claude wrote, nothing otherwise."""

    session: Path
    released: list[ReleaseStamp | None] = field(default_factory=list)

    def release(self, *, wrote: bool) -> None:
        self.released.append(file_stamp(self.session) if wrote else None)


@dataclass
class FakeCoordinator:
    lease: FakeLease
    acquire_error: Exception | None = None
    wait_action: Callable[[], None] | None = None
    newer: str | None = None
    calls: list[str] = field(default_factory=list)
    forced: list[bool] = field(default_factory=list)

    def acquire(self, session: PickedSession, *, forced: bool, wait: bool = False) -> FakeLease:
        self.calls.append("acquire --wait" if wait else "acquire")
        self.forced.append(forced)
        if self.acquire_error is not None and not wait:
            raise self.acquire_error
        return self.lease

    def wait_in_sync(
        self, session: PickedSession, *, timeout_s: float, on_wait: Callable[[str], None]
    ) -> None:
        self.calls.append("wait")
        on_wait("waiting for node-b")
        if self.wait_action is not None:
            self.wait_action()

    def newer_elsewhere(self, session: PickedSession) -> str | None:
        return self.newer


@dataclass
class FakeUI:
    interactive: bool = False
    answer: bool = False
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    waits: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def info(self, message: str) -> None:
        self.infos.append(message)

    def confirm(self, question: str, *, default: bool = False) -> bool:
        self.questions.append(question)
        return self.answer

    def waiting(self, message: str) -> None:
        self.waits.append(message)


@dataclass
class FakeClaude:
    """Appends one row to the session, as a real turn would, then exits with ``code``."""

    session: Path
    code: int = 0
    raises: BaseException | None = None
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, argv: Sequence[str], env: Mapping[str, str]) -> ChildExit:
        self.argv = list(argv)
        self.env = dict(env)
        with self.session.open("ab") as handle:
            handle.write(_row("new", "u1") + b"\n")
        if self.raises is not None:
            raise self.raises
        return ChildExit(self.code)


@pytest.fixture
def session(tmp_path: Path) -> PickedSession:
    folder = tmp_path / "projects" / "-work-proj"
    folder.mkdir(parents=True)
    path = folder / f"{SID}.jsonl"
    path.write_bytes(_row("u1", None) + b"\n")
    return PickedSession(SID, path, None, "newest")


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal", node="node-a")


@pytest.fixture
def request_(tmp_path: Path) -> ResumeRequest:
    return ResumeRequest(
        project_dir=tmp_path, claude_bin=Path("/bin/claude"), claude_args=("-p", "hi")
    )


def _resumer(
    coordinator: FakeCoordinator | None,
    journal: Journal,
    ui: FakeUI,
    launch: Callable[[Sequence[str], Mapping[str, str]], ChildExit],
    merged: int = 0,
) -> Resumer:
    return Resumer(
        coordinator=coordinator,
        journal=journal,
        ui=ui,
        merge_conflicts=lambda _session: merged,
        launch=launch,
    )


def test_resume_runs_claude_r_with_the_passed_arguments(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    claude = FakeClaude(session.path, code=4)
    outcome = _resumer(FakeCoordinator(FakeLease(session.path)), journal, FakeUI(), claude).run(
        session, request_
    )
    assert claude.argv == ["/bin/claude", "-r", SID, "-p", "hi"]
    assert outcome.exit_code == 4


def test_resume_takes_the_lease_before_waiting_for_sync(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = FakeCoordinator(FakeLease(session.path))
    ui = FakeUI()
    _resumer(coordinator, journal, ui, FakeClaude(session.path)).run(session, request_)
    assert coordinator.calls == ["acquire", "wait"]
    assert ui.waits == ["waiting for node-b"]


def test_resume_releases_with_the_stamp_of_the_file_claude_left(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = FakeCoordinator(FakeLease(session.path))
    _resumer(coordinator, journal, FakeUI(), FakeClaude(session.path)).run(session, request_)
    assert coordinator.lease.released == [file_stamp(session.path)]


def test_resume_releases_when_claude_crashes(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = FakeCoordinator(FakeLease(session.path))
    claude = FakeClaude(session.path, code=128 + 9)
    outcome = _resumer(coordinator, journal, FakeUI(), claude).run(session, request_)
    assert outcome.exit_code == 137
    assert coordinator.lease.released == [file_stamp(session.path)]


def test_resume_releases_on_ctrl_c(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = FakeCoordinator(FakeLease(session.path))
    claude = FakeClaude(session.path, raises=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        _resumer(coordinator, journal, FakeUI(), claude).run(session, request_)
    assert coordinator.lease.released == [file_stamp(session.path)]


def test_resume_journals_the_lines_claude_wrote(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    _resumer(
        FakeCoordinator(FakeLease(session.path)), journal, FakeUI(), FakeClaude(session.path)
    ).run(session, request_)
    assert [json.loads(line)["uuid"] for line in journal.records(SID)] == ["new"]
    assert [e["event"] for e in journal.events(SID)] == ["launch", "release"]


class _JournalAfterRelease(Journal):
    """A journal whose release record waits until the lease's release has begun."""

    def __init__(self, folder: Path, releasing: threading.Event) -> None:
        super().__init__(folder, node="node-a")
        self.releasing = releasing

    def record(self, session_path: Path, phase: Literal["launch", "release"], **kw: Any) -> Any:
        if phase == "release":
            assert self.releasing.wait(5), "the release waited for the journal"
        return super().record(session_path, phase, **kw)


@dataclass
class _SignallingLease(FakeLease):
    releasing: threading.Event = field(default_factory=threading.Event)

    def release(self, *, wrote: bool) -> None:
        self.releasing.set()
        super().release(wrote=wrote)


def test_resume_journals_while_the_lease_is_released_not_before(
    session: PickedSession, tmp_path: Path, request_: ResumeRequest
) -> None:
    lease = _SignallingLease(session.path)
    journal = _JournalAfterRelease(tmp_path / "journal", lease.releasing)
    _resumer(FakeCoordinator(lease), journal, FakeUI(), FakeClaude(session.path)).run(
        session, request_
    )
    assert lease.released == [file_stamp(session.path)]
    assert [json.loads(line)["uuid"] for line in journal.records(SID)] == ["new"]
    assert [e["event"] for e in journal.events(SID)] == ["launch", "release"]


def test_resume_releases_and_warns_when_the_journal_cannot_be_written(
    session: PickedSession, tmp_path: Path, request_: ResumeRequest
) -> None:
    class Broken(Journal):
        def record(self, session_path: Path, phase: Literal["launch", "release"], **kw: Any) -> Any:
            if phase == "release":
                raise OSError("no space left on device")
            return super().record(session_path, phase, **kw)

    lease = FakeLease(session.path)
    ui = FakeUI()
    journal = Broken(tmp_path / "journal", node="node-a")
    _resumer(FakeCoordinator(lease), journal, ui, FakeClaude(session.path)).run(session, request_)
    assert lease.released == [file_stamp(session.path)]
    assert ui.warnings == ["Could not journal the session: no space left on device."]
    assert [e["event"] for e in journal.events(SID)] == ["launch", "release"]


_STAND_IN = """
import pathlib, sys, time
pathlib.Path(sys.argv[1]).write_text("ready")
time.sleep(30)
"""


def test_resume_releases_when_sigterm_arrives_while_claude_runs(
    session: PickedSession, journal: Journal, request_: ResumeRequest, tmp_path: Path
) -> None:
    marker = tmp_path / "ready"

    def launch(_argv: Sequence[str], _env: Mapping[str, str]) -> ChildExit:
        return run_child([sys.executable, "-c", _STAND_IN, str(marker)])

    def fire() -> None:
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=fire, daemon=True).start()
    coordinator = FakeCoordinator(FakeLease(session.path))
    outcome = _resumer(coordinator, journal, FakeUI(), launch).run(session, request_)
    assert outcome.exit_code == 128 + signal.SIGTERM
    assert coordinator.lease.released == [file_stamp(session.path)]
    assert journal.events(SID)[-1]["signals"] == [int(signal.SIGTERM)]


def test_resume_releases_when_sigterm_arrives_while_waiting(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = FakeCoordinator(
        FakeLease(session.path), wait_action=lambda: os.kill(os.getpid(), signal.SIGTERM)
    )
    claude = FakeClaude(session.path)
    with pytest.raises(Terminated):
        _resumer(coordinator, journal, FakeUI(), claude).run(session, request_)
    assert claude.argv == []
    assert coordinator.lease.released == [None]  # nothing written: the old stamp still counts


def test_resume_releases_and_refuses_when_sync_times_out(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    def timeout() -> None:
        raise SyncTimeout("node-b's last turn has not arrived.")

    coordinator = FakeCoordinator(FakeLease(session.path), wait_action=timeout)
    claude = FakeClaude(session.path)
    with pytest.raises(SyncTimeout):
        _resumer(coordinator, journal, FakeUI(), claude).run(session, request_)
    assert claude.argv == []
    assert coordinator.lease.released == [None]


def test_resume_refuses_when_the_lease_is_held(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = FakeCoordinator(
        FakeLease(session.path), acquire_error=LeaseHeld("node-b holds it.")
    )
    claude = FakeClaude(session.path)
    with pytest.raises(LeaseHeld):
        _resumer(coordinator, journal, FakeUI(), claude).run(session, request_)
    assert claude.argv == []
    assert coordinator.lease.released == []


def test_resume_force_skips_the_wait_and_says_so(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = FakeCoordinator(FakeLease(session.path))
    ui = FakeUI()
    forced = ResumeRequest(
        project_dir=request_.project_dir, claude_bin=request_.claude_bin, force=True
    )
    _resumer(coordinator, journal, ui, FakeClaude(session.path)).run(session, forced)
    assert coordinator.calls == ["acquire"]
    assert coordinator.forced == [True]
    assert "--force" in ui.warnings[0]
    assert journal.events(SID)[0]["forced"] is True


def test_resume_without_syncthing_warns_and_still_runs(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    ui = FakeUI()
    claude = FakeClaude(session.path)
    _resumer(None, journal, ui, claude).run(session, request_)
    assert claude.argv
    assert "cannot coordinate" in ui.warnings[0]


def _agent_session(session: PickedSession) -> PickedSession:
    return PickedSession(session.session_id, session.path, "agent:ci/nightly", "title")


def test_resume_refuses_an_agent_session_without_a_terminal(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    claude = FakeClaude(session.path)
    with pytest.raises(InvalidInput, match="belongs to an agent"):
        _resumer(FakeCoordinator(FakeLease(session.path)), journal, FakeUI(), claude).run(
            _agent_session(session), request_
        )
    assert claude.argv == []


def test_resume_asks_before_resuming_an_agent_session(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    ui = FakeUI(interactive=True, answer=True)
    claude = FakeClaude(session.path)
    _resumer(FakeCoordinator(FakeLease(session.path)), journal, ui, claude).run(
        _agent_session(session), request_
    )
    assert "agent:ci/nightly" in ui.questions[0]
    assert claude.argv


def test_resume_stops_when_the_answer_is_no(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    ui = FakeUI(interactive=True, answer=False)
    with pytest.raises(InvalidInput, match="Did not resume"):
        _resumer(
            FakeCoordinator(FakeLease(session.path)), journal, ui, FakeClaude(session.path)
        ).run(_agent_session(session), request_)


def test_resume_treats_a_session_under_an_agent_folder_as_an_agents(
    session: PickedSession, journal: Journal, tmp_path: Path
) -> None:
    guarded = ResumeRequest(
        project_dir=tmp_path, claude_bin=Path("claude"), agent_namespaces=(Path("/work"),)
    )
    with pytest.raises(InvalidInput, match="agent namespace /work"):
        _resumer(
            FakeCoordinator(FakeLease(session.path)), journal, FakeUI(), FakeClaude(session.path)
        ).run(session, guarded)


def test_resume_warns_about_an_old_session(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    old = time.time() - 2 * 86400 - 60
    os.utime(session.path, (old, old))
    ui = FakeUI()
    _resumer(FakeCoordinator(FakeLease(session.path)), journal, ui, FakeClaude(session.path)).run(
        session, request_
    )
    assert any("2d 0h ago" in warning for warning in ui.warnings)


def test_resume_warns_when_a_peer_has_a_newer_version(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    ui = FakeUI()
    coordinator = FakeCoordinator(FakeLease(session.path), newer="node-b has a newer version.")
    _resumer(coordinator, journal, ui, FakeClaude(session.path)).run(session, request_)
    assert "node-b has a newer version." in ui.warnings


def test_resume_reports_merged_conflict_copies(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    ui = FakeUI()
    _resumer(
        FakeCoordinator(FakeLease(session.path)), journal, ui, FakeClaude(session.path), merged=2
    ).run(session, request_)
    assert ui.infos == [f"Merged 2 conflict copies of {SID}."]


def test_resume_tells_the_hooks_that_roam_cr_holds_the_session(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    claude = FakeClaude(session.path)
    _resumer(FakeCoordinator(FakeLease(session.path)), journal, FakeUI(), claude).run(
        session, request_
    )
    assert claude.env == {"ROAM_CR_SESSION": SID}


# --- issue 20: the holder is offline; on a terminal roam asks before taking over -------------


@dataclass
class OfflineHolderCoordinator(FakeCoordinator):
    """The machine holding the session is off: only a forced acquisition gets the lease."""

    def acquire(self, session: PickedSession, *, forced: bool, wait: bool = False) -> FakeLease:
        self.calls.append("acquire")
        self.forced.append(forced)
        if not forced:
            raise HolderOffline(f"Session {session.session_id} was last taken by alpha.")
        return self.lease


def test_resume_asks_on_a_terminal_and_takes_over_from_an_offline_holder(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = OfflineHolderCoordinator(FakeLease(session.path))
    ui = FakeUI(interactive=True, answer=True)
    _resumer(coordinator, journal, ui, FakeClaude(session.path)).run(session, request_)
    assert coordinator.forced == [False, True]
    assert ui.questions[0].startswith(f"Session {SID} was last taken by alpha. Take it over here")
    assert "wait" not in coordinator.calls  # nothing can arrive from a machine that is off


def test_resume_refuses_an_offline_holder_when_the_answer_is_no(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = OfflineHolderCoordinator(FakeLease(session.path))
    ui = FakeUI(interactive=True, answer=False)
    with pytest.raises(HolderOffline, match="last taken by alpha"):
        _resumer(coordinator, journal, ui, FakeClaude(session.path)).run(session, request_)
    assert coordinator.forced == [False]


def test_resume_refuses_an_offline_holder_without_asking_off_a_terminal(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = OfflineHolderCoordinator(FakeLease(session.path))
    ui = FakeUI(interactive=False)
    with pytest.raises(HolderOffline):
        _resumer(coordinator, journal, ui, FakeClaude(session.path)).run(session, request_)
    assert ui.questions == []


def test_resume_prints_why_a_grant_without_a_majority_stands(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    lease = FakeLease(session.path)
    lease.notes = ("alpha (AAAAAAA) is offline; it released this session at 14:02",)  # type: ignore[attr-defined]  # the real lease's attribute
    ui = FakeUI()
    _resumer(FakeCoordinator(lease), journal, ui, FakeClaude(session.path)).run(session, request_)
    assert ui.infos == ["alpha (AAAAAAA) is offline; it released this session at 14:02"]


def _argv_under_a_guarded_lease(
    session: PickedSession, journal: Journal, request: ResumeRequest
) -> list[str]:
    """claude's argv when the lease carries the prompt guard's arguments, as the real one does."""
    lease = FakeLease(session.path)
    lease.claude_args = ("--settings", "{}")  # type: ignore[attr-defined]  # the real lease's attribute
    claude = FakeClaude(session.path)
    _resumer(FakeCoordinator(lease), journal, FakeUI(), claude).run(session, request)
    return claude.argv


def test_resume_gives_an_interactive_claude_the_lease_guard_hook(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    interactive = dataclasses.replace(request_, claude_args=("--model", "sonnet"))
    argv = _argv_under_a_guarded_lease(session, journal, interactive)
    assert argv == ["/bin/claude", "-r", SID, "--settings", "{}", "--model", "sonnet"]


def test_resume_gives_a_one_prompt_print_run_no_lease_guard_hook(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    argv = _argv_under_a_guarded_lease(session, journal, request_)  # -p hi
    assert argv == ["/bin/claude", "-r", SID, "-p", "hi"]


def test_resume_guards_a_print_run_that_reads_more_prompts_from_stdin(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    args = ("-p", "--input-format", "stream-json", "--output-format", "stream-json")
    argv = _argv_under_a_guarded_lease(
        session, journal, dataclasses.replace(request_, claude_args=args)
    )
    assert argv == ["/bin/claude", "-r", SID, "--settings", "{}", *args]


def test_resume_gives_a_fork_no_lease_guard_hook(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    fork = dataclasses.replace(request_, claude_args=("--fork-session",))
    argv = _argv_under_a_guarded_lease(session, journal, fork)
    assert argv == ["/bin/claude", "-r", SID, "--fork-session"]


# --- issue 16: a connected machine holds the session; on a terminal roam offers to wait -------


def _held_by_beta(session: PickedSession) -> FakeCoordinator:
    held = HeldElsewhere(f"Session {SID} is held by beta (BBBBBBB) since 14:02.")
    return FakeCoordinator(FakeLease(session.path), acquire_error=held)


def test_resume_offers_on_a_terminal_to_wait_for_a_connected_holder(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = _held_by_beta(session)
    ui = FakeUI(interactive=True, answer=True)
    _resumer(coordinator, journal, ui, FakeClaude(session.path)).run(session, request_)
    assert coordinator.calls[:2] == ["acquire", "acquire --wait"]
    assert ui.questions == [
        f"Session {SID} is held by beta (BBBBBBB) since 14:02. Wait here and start the moment "
        "it is done?"
    ]


def test_resume_refuses_a_connected_holder_when_the_answer_is_no(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = _held_by_beta(session)
    with pytest.raises(HeldElsewhere):
        _resumer(coordinator, journal, FakeUI(interactive=True), FakeClaude(session.path)).run(
            session, request_
        )
    assert coordinator.calls == ["acquire"]


def test_resume_refuses_a_connected_holder_without_asking_off_a_terminal(
    session: PickedSession, journal: Journal, request_: ResumeRequest
) -> None:
    coordinator = _held_by_beta(session)
    ui = FakeUI(interactive=False)
    with pytest.raises(HeldElsewhere):
        _resumer(coordinator, journal, ui, FakeClaude(session.path)).run(session, request_)
    assert ui.questions == []
