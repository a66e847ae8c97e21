"""The old holder is told: the UserPromptSubmit hook ``roam cr`` gives the claude it starts."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import threading
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.lease.model import (
    Claim,
    ClaimState,
    ClaimView,
    ReleaseStamp,
    serialize_claim,
)
from session_roam.engine.lease.prompt_guard import EXIT_BLOCK, arm, overtaker, read_claims

if TYPE_CHECKING:
    from pathlib import Path

SID = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"
ALPHA = "AAAAAAA-ALPHA"
BETA = "BBBBBBB-BETA"


def _claim(device: str, ticket: int, state: ClaimState, **changes: object) -> Claim:
    return Claim(SID, device, ticket, state, 30.0, 1, name=device[8:].lower(), **changes)  # type: ignore[arg-type]  # test passthrough


MINE = _claim(ALPHA, 5, ClaimState.HELD, since="2026-12-06T14:00:00+00:00")


def test_guard_sees_a_steal_of_our_holding_as_a_take_over() -> None:
    thief = _claim(BETA, 6, ClaimState.HELD, stolen_from=ALPHA, stolen_below=6)
    taker = overtaker(MINE, [ClaimView(ALPHA, MINE), ClaimView(BETA, thief)])
    assert taker is not None
    assert taker.device == BETA


def test_guard_sees_a_later_holding_after_our_claim_expired_as_a_take_over() -> None:
    later = _claim(BETA, 7, ClaimState.RELEASED, release=ReleaseStamp(9, "a" * 64, ticket=7))
    assert overtaker(MINE, [ClaimView(BETA, later)]) is not None


def test_guard_ignores_a_machine_that_tried_and_lost() -> None:
    lost = _claim(BETA, 7, ClaimState.RELEASED, release=ReleaseStamp(9, "a" * 64, ticket=2))
    assert overtaker(MINE, [ClaimView(ALPHA, MINE), ClaimView(BETA, lost)]) is None


class Node:
    """One machine's projects folder with its lease folder, and the armed hook of a roam cr."""

    def __init__(self, tmp_path: Path) -> None:
        self.projects = tmp_path / "projects"
        self.folder = self.projects / ".roam" / "leases" / SID
        self.folder.mkdir(parents=True)
        self.write(MINE)
        self.guard = arm(SID, ALPHA, self.projects, tmp_path / "state" / "guard")
        settings = json.loads(self.guard.args[1])
        self.command = settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]

    def write(self, claim: Claim) -> None:
        (self.folder / f"{claim.device}.json").write_bytes(serialize_claim(claim))

    def prompt(self) -> subprocess.CompletedProcess[str]:
        """Run the hook as Claude Code does: through the shell, with the payload on stdin."""
        payload = json.dumps({"session_id": SID, "prompt": "next", "hook_event_name": "x"})
        return subprocess.run(  # the command roam wrote, run as claude runs it
            ["/bin/sh", "-c", self.command],
            input=payload,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return Node(tmp_path)


def test_guard_lets_the_prompt_through_while_the_lease_is_ours(node: Node) -> None:
    done = node.prompt()
    assert (done.returncode, done.stderr) == (0, "")


def test_guard_stops_the_prompt_after_a_take_over_with_one_sentence(node: Node) -> None:
    since = "2026-12-06T14:05:00+00:00"
    node.write(_claim(BETA, 6, ClaimState.HELD, stolen_from=ALPHA, stolen_below=6, since=since))
    done = node.prompt()
    assert done.returncode == EXIT_BLOCK
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"roam: session {SID} continued on beta (BBBBBBB) since ")
    assert "exit this claude and run `roam cr`" in done.stderr


def test_guard_says_when_the_new_holder_released_once_it_is_done(node: Node) -> None:
    stamp = ReleaseStamp(9, "a" * 64, ticket=6)
    node.write(_claim(BETA, 6, ClaimState.RELEASED, release=stamp, since="2026-12-06T14:09:00Z"))
    done = node.prompt()
    assert done.returncode == EXIT_BLOCK
    assert "continued on beta (BBBBBBB) (released there at " in done.stderr


def test_guard_lets_the_prompt_through_when_another_machine_only_tried(node: Node) -> None:
    node.write(_claim(BETA, 6, ClaimState.RELEASED))
    first = node.prompt()
    assert (first.returncode, first.stderr) == (0, "")
    assert node.guard.ref.stat().st_ctime_ns >= (node.folder / f"{BETA}.json").stat().st_ctime_ns


def test_guard_settings_carry_only_the_prompt_hook(node: Node) -> None:
    assert node.guard.args[0] == "--settings"
    assert list(json.loads(node.guard.args[1])["hooks"]) == ["UserPromptSubmit"]


def test_guard_disarm_removes_its_reference_file(node: Node) -> None:
    node.guard.disarm()
    assert not node.guard.ref.exists()


def test_guard_follows_no_symlinked_lease_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / f"{BETA}.json").write_bytes(serialize_claim(_claim(BETA, 6, ClaimState.HELD)))
    link = tmp_path / "leases"
    link.symlink_to(elsewhere)
    assert read_claims(link, SID) == []


def test_guard_shows_a_peers_hostile_machine_name_with_its_controls_visible(node: Node) -> None:
    name = "\x1b]52;c;aGk=\x07\x1b[2J\u202ebeta\x9b31m"
    taker = _claim(BETA, 6, ClaimState.HELD, stolen_from=ALPHA, stolen_below=6)
    node.write(dataclasses.replace(taker, name=name))
    done = node.prompt()
    assert done.returncode == EXIT_BLOCK
    assert not any(ch in done.stderr for ch in "\x1b\x07\u202e\x9b")
    assert "continued on \\x1b]52;c;aGk=\\x07\\x1b[2J\\u202ebeta\\x9b31m (BBBBBBB)" in done.stderr


def test_guard_reads_no_claim_through_a_symlinked_roam_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "leases" / SID
    elsewhere.mkdir(parents=True)
    (elsewhere / f"{BETA}.json").write_bytes(serialize_claim(_claim(BETA, 6, ClaimState.HELD)))
    projects = tmp_path / "projects"
    projects.mkdir()
    (projects / ".roam").symlink_to(tmp_path / "elsewhere")
    assert read_claims(projects / ".roam" / "leases" / SID, SID) == []


def test_guard_reads_no_claim_file_that_is_a_link(node: Node, tmp_path: Path) -> None:
    decoy = tmp_path / "decoy.json"
    decoy.write_bytes(serialize_claim(_claim(BETA, 6, ClaimState.HELD)))
    (node.folder / f"{BETA}.json").symlink_to(decoy)
    assert [view.device for view in read_claims(node.folder, SID)] == [ALPHA]


def test_guard_checks_a_take_over_claim_that_syncthing_is_still_swapping_in(node: Node) -> None:
    # Syncthing has written its temp and removed the old claim; the rename comes a moment later
    stolen = _claim(BETA, 6, ClaimState.HELD, stolen_from=ALPHA, stolen_below=6)
    temp = node.folder / f".syncthing.{BETA}.json.tmp"
    temp.write_bytes(serialize_claim(stolen))
    renamed = threading.Timer(0.05, temp.rename, args=(node.folder / f"{BETA}.json",))
    renamed.start()
    try:
        done = node.prompt()
    finally:
        renamed.join()
    assert done.returncode == EXIT_BLOCK
