from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.claude.hookrun import HookPayload
from session_roam.engine.claude.keeper import ProcessKeeper, claude_pid_of_hook, keep
from session_roam.engine.core.procs import pid_alive
from session_roam.errors import LeaseHeld

if TYPE_CHECKING:
    from pathlib import Path

SID = "aaaaaaaa-1111-4111-8111-111111111111"

_FAKE_KEEPER = """
import sys
print(sys.argv[1], flush=True)
"""


@pytest.fixture
def payload(tmp_path: Path) -> HookPayload:
    return HookPayload(SID, tmp_path / f"{SID}.jsonl", "/w")


def test_process_keeper_reports_nothing_when_the_lease_is_taken(payload: HookPayload) -> None:
    keeper = ProcessKeeper([sys.executable, "-c", _FAKE_KEEPER, "ok"])
    assert keeper.claim(payload, claude_pid=os.getpid()) is None


def test_process_keeper_turns_a_refusal_into_a_loud_warning(payload: HookPayload) -> None:
    keeper = ProcessKeeper([sys.executable, "-c", _FAKE_KEEPER, "node-b holds it."])
    warning = keeper.claim(payload, claude_pid=os.getpid())
    assert warning is not None
    assert "WARNING: node-b holds it." in warning


def _sleeping_claude() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])


def test_keep_releases_once_claude_exits(tmp_path: Path) -> None:
    claude = _sleeping_claude()
    events: list[str] = []
    threading.Timer(0.3, claude.kill).start()
    started = time.monotonic()

    def acquire(_sid: str, _path: Path) -> str:
        events.append("acquire")
        return "lease"

    keep(
        SID,
        claude.pid,
        tmp_path / "s.jsonl",
        acquire=acquire,
        release=lambda lease: events.append(f"release {lease}"),
        report=events.append,
    )
    claude.wait()
    assert events == ["acquire", "ok", "release lease"]
    assert time.monotonic() - started < 5


def test_keep_reports_who_holds_the_session(tmp_path: Path) -> None:
    reports: list[str] = []

    def refuse(_sid: str, _path: Path) -> str:
        raise LeaseHeld("Session is held by node-b.")

    keep(
        SID, os.getpid(), tmp_path / "s.jsonl", acquire=refuse, release=print, report=reports.append
    )
    assert reports == ["Session is held by node-b."]


def test_keep_records_itself_for_the_session_end_hook(tmp_path: Path) -> None:
    claude = _sleeping_claude()
    seen: list[dict[str, object]] = []
    record = tmp_path / "home" / ".local" / "state" / "session-roam" / "keepers" / f"{SID}.json"

    def look(_line: str) -> None:
        seen.append(json.loads(record.read_text()))
        claude.kill()

    keep(
        SID,
        claude.pid,
        tmp_path / "s.jsonl",
        acquire=lambda s, p: 1,
        release=lambda _l: None,
        report=look,
    )
    claude.wait()
    assert seen == [{"session_id": SID, "keeper_pid": os.getpid(), "claude_pid": claude.pid}]
    assert not record.exists()


def test_claude_pid_of_hook_skips_the_shell() -> None:
    script = (
        "from session_roam.engine.claude.keeper import claude_pid_of_hook; "
        "print(claude_pid_of_hook())"
    )
    out = subprocess.run(
        ["/bin/sh", "-c", f"{sys.executable} -c '{script}'; true"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout) == os.getpid()


def test_pid_alive_treats_a_zombie_as_gone() -> None:
    child = _sleeping_claude()
    assert pid_alive(child.pid)
    child.kill()
    deadline = time.monotonic() + 5
    while pid_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not pid_alive(child.pid)
    child.wait()


def test_claude_pid_of_hook_prefers_what_claude_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_PID", str(os.getpid()))
    assert claude_pid_of_hook() == os.getpid()
