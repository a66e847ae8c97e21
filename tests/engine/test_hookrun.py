from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from session_roam.engine.claude.hookrun import (
    HookPayload,
    HookRunner,
    parse_payload,
    read_stdin_payload,
)
from session_roam.engine.sessions.journal import Journal
from session_roam.errors import InvalidInput, LeaseHeld

SID = "aaaaaaaa-1111-4111-8111-111111111111"


@dataclass
class FakeKeeper:
    holder_warning: str | None = None
    error: Exception | None = None
    claims: list[int] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)

    def claim(self, payload: HookPayload, claude_pid: int) -> str | None:
        if self.error is not None:
            raise self.error
        self.claims.append(claude_pid)
        return self.holder_warning

    def release(self, payload: HookPayload) -> None:
        self.releases.append(payload.session_id)


@pytest.fixture
def payload(tmp_path: Path) -> HookPayload:
    path = tmp_path / f"{SID}.jsonl"
    path.write_text(json.dumps({"type": "user", "uuid": "u1", "parentUuid": None}) + "\n")
    return HookPayload(SID, path, "/work", source="startup")


def _runner(
    tmp_path: Path,
    keeper: FakeKeeper | None,
    warnings: list[str],
    env: dict[str, str] | None = None,
) -> HookRunner:
    return HookRunner(
        journal=Journal(tmp_path / "journal", node="n"),
        keeper=keeper,
        warn=warnings.append,
        environ=env or {},
    )


def test_parse_payload_reads_the_session_fields() -> None:
    raw = json.dumps(
        {
            "session_id": SID.upper(),
            "transcript_path": "/t/x.jsonl",
            "cwd": "/w",
            "source": "resume",
        }
    ).encode()
    assert parse_payload(raw) == HookPayload(SID, Path("/t/x.jsonl"), "/w", source="resume")


def test_parse_payload_refuses_a_payload_without_session() -> None:
    with pytest.raises(InvalidInput, match="no session_id"):
        parse_payload(b'{"cwd": "/w"}')


def test_read_stdin_payload_does_not_wait_for_an_unclosed_pipe() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b'{"a": 1}')
    with os.fdopen(read_fd, "rb") as stream:
        assert read_stdin_payload(stream, deadline_s=0.2) == b'{"a": 1}'
    os.close(write_fd)


def test_read_stdin_payload_reads_until_eof() -> None:
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from session_roam.engine.claude.hookrun import read_stdin_payload;"
            "sys.stdout.buffer.write(read_stdin_payload(sys.stdin.buffer))",
        ],
        input=b"x" * 200_000,
        capture_output=True,
        check=True,
    )
    assert len(child.stdout) == 200_000


def test_hook_start_claims_the_lease_for_claude(tmp_path: Path, payload: HookPayload) -> None:
    keeper = FakeKeeper()
    _runner(tmp_path, keeper, []).session_start(payload, claude_pid=1234)
    assert keeper.claims == [1234]


def test_hook_start_warns_loudly_when_another_node_holds_it(
    tmp_path: Path, payload: HookPayload
) -> None:
    warnings: list[str] = []
    keeper = FakeKeeper(holder_warning="node-b is writing this session since 10:00.")
    _runner(tmp_path, keeper, warnings).session_start(payload, claude_pid=1)
    assert warnings == ["node-b is writing this session since 10:00."]


def test_hook_start_turns_errors_into_warnings(tmp_path: Path, payload: HookPayload) -> None:
    warnings: list[str] = []
    keeper = FakeKeeper(error=LeaseHeld("node-b holds it."))
    _runner(tmp_path, keeper, warnings).session_start(payload, claude_pid=1)
    assert "node-b holds it." in warnings[0]


def test_hook_end_journals_and_releases(tmp_path: Path, payload: HookPayload) -> None:
    keeper = FakeKeeper()
    runner = _runner(tmp_path, keeper, [])
    runner.session_start(payload, claude_pid=1)
    with payload.transcript_path.open("a") as handle:
        handle.write(json.dumps({"type": "user", "uuid": "u2", "parentUuid": "u1"}) + "\n")
    runner.session_end(payload)
    assert keeper.releases == [SID]
    assert len(Journal(tmp_path / "journal").records(SID)) == 1


def test_hooks_step_aside_for_a_session_roam_cr_runs(tmp_path: Path, payload: HookPayload) -> None:
    keeper = FakeKeeper()
    runner = _runner(tmp_path, keeper, [], env={"ROAM_CR_SESSION": SID})
    runner.session_start(payload, claude_pid=1)
    runner.session_end(payload)
    assert (keeper.claims, keeper.releases) == ([], [])


def test_hook_start_without_syncthing_warns(tmp_path: Path, payload: HookPayload) -> None:
    warnings: list[str] = []
    _runner(tmp_path, None, warnings).session_start(payload, claude_pid=1)
    assert "not protected" in warnings[0]
