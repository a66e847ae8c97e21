"""`roam lease status|release|steal` on an in-memory cluster (the engine is swapped for a fake)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.core.paths import claude_config_dir
from session_roam.engine.lease import api as lease
from tests.engine.lease_fakes import FakeClock, FakeNet, FakeTransport, make_engine
from tests.merge.sessions import SessionWriter

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.lease.engine import LeaseEngine

SESSION = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"


class Machines:
    def __init__(self, tmp_path: Path) -> None:
        net = FakeNet()
        self.clock = FakeClock()
        self.tmp = tmp_path
        self.transports = {n: FakeTransport(net, n, tmp_path / n) for n in ("HERE", "THERE")}

    def engine(self, name: str) -> LeaseEngine:
        return make_engine(self.transports[name], self.clock, self.tmp / "state")


@pytest.fixture
def machines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machines:
    found = Machines(tmp_path)
    monkeypatch.setattr(lease, "open_engine", lambda claude_dir=None: found.engine("HERE"))
    return found


def test_lease_status_says_when_nothing_is_claimed(machines: Machines) -> None:
    result = CliRunner().invoke(app, ["lease", "status"])
    assert result.exit_code == 0
    assert "No lease claims" in result.output


def test_lease_status_shows_the_holder(machines: Machines) -> None:
    held = lease.acquire(SESSION, engine=machines.engine("THERE"))
    result = CliRunner().invoke(app, ["lease", "status"])
    held.release()
    assert result.exit_code == 0
    assert "there (THERE)" in result.output
    assert "held" in result.output


def test_lease_status_json_lists_claims(machines: Machines) -> None:
    held = lease.acquire(SESSION, engine=machines.engine("THERE"))
    result = CliRunner().invoke(app, ["lease", "status", "--json"])
    held.release()
    assert result.exit_code == 0
    leases = json.loads(result.output)["leases"]
    assert [(item["device"], item["state"], item["live"]) for item in leases] == [
        ("THERE", "held", True)
    ]


def test_lease_release_without_a_claim_says_so(machines: Machines) -> None:
    result = CliRunner().invoke(app, ["lease", "release", SESSION])
    assert result.exit_code == 0
    assert "holds no claim" in result.output


def test_lease_release_rejects_a_bad_session_id(machines: Machines) -> None:
    result = CliRunner().invoke(app, ["lease", "release", "../etc"])
    assert result.exit_code == 2
    assert "is not a session id" in result.output


def test_lease_steal_takes_over_and_names_the_victim(machines: Machines) -> None:
    held = lease.acquire(SESSION, engine=machines.engine("THERE"))
    result = CliRunner().invoke(app, ["lease", "steal", SESSION])
    assert result.exit_code == 0
    assert "over from there (THERE)" in result.output
    held.renew()
    assert held.overtaken is not None
    held.release()


def test_lease_steal_of_a_free_session_changes_nothing(machines: Machines) -> None:
    result = CliRunner().invoke(app, ["lease", "steal", SESSION])
    assert result.exit_code == 0
    assert "Nobody held" in result.output


def test_lease_status_warns_the_machine_that_was_stolen_from(
    machines: Machines, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = lease.acquire(SESSION, engine=machines.engine("HERE"))
    lease.steal(SESSION, engine=machines.engine("THERE"))
    result = CliRunner().invoke(app, ["lease", "status"])
    held.release()
    assert result.exit_code == 0
    assert "was taken over by THERE" in result.stderr


def test_lease_steal_records_the_take_over_point_in_the_session(machines: Machines) -> None:
    writer = SessionWriter(namespace=1)
    writer.turn(1, "one", [0])
    path = claude_config_dir() / "projects" / "-tmp-proj" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(writer.data())
    held = lease.acquire(SESSION, engine=machines.engine("THERE"))
    result = CliRunner().invoke(app, ["lease", "steal", SESSION])
    held.release()
    assert result.exit_code == 0, result.output
    assert b'"type":"roam-takeover"' in path.read_bytes().splitlines()[-1]
