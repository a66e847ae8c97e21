"""engine.awareness against a stand-in for Syncthing's REST API (httpx.MockTransport).

The stand-in keeps the few facts awareness reads: who is connected since when, what each dial
gave, which devices hold which version of this node's file, and what is still needed. A scan
of the node file makes every connected peer acknowledge it after ``ack_after`` polls, as a
real peer announces a file it pulled.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from session_roam.engine.resume.awareness import (
    AWAITING_INDEX,
    CONNECTING,
    INDEXED,
    PAUSED,
    UNREACHABLE,
    await_cluster,
    observe,
    probe_name,
    scope_for,
)
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.nodeinfo import NodeInfo, info_path, publish

if TYPE_CHECKING:
    from pathlib import Path

ME = "MEMEMEM-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
VAULT = "VAULTVA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
ALPHA = "ALPHAAL-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
FOLDER = "claude-projects"
ALPHA_ADDRESS = "tcp://127.0.0.1:22001"
VAULT_ADDRESS = "tcp://127.0.0.1:22002"
PROJECT = "-home-u-proj"


def _stamp(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat().replace("+00:00", "Z")


class FakeSyncthing:
    """Just enough of one node's REST API for awareness; mutate the attributes to set a scene."""

    def __init__(self) -> None:
        self.now = time.time()
        self.uptime = 60
        self.addresses = {ALPHA: [ALPHA_ADDRESS], VAULT: [VAULT_ADDRESS]}
        self.paused: set[str] = set()
        self.connected: dict[str, float] = {}  # device -> when its connection started
        self.dials: dict[str, dict[str, Any]] = {}
        self.probe_modified: float | None = None
        self.probe_holders: set[str] = set()
        self.ack_after = 1
        self._acks_due: int | None = None
        self.needed: dict[str, set[str]] = {}  # name -> devices that have it
        self.scans: list[list[str]] = []
        self.discovery = True

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        params = request.url.params
        answer: Any
        if path == "/rest/system/status":
            answer = {"myID": ME, "uptime": self.uptime, "lastDialStatus": self.dials}
        elif path == f"/rest/config/folders/{FOLDER}":
            devices = [{"deviceID": d} for d in (ME, ALPHA, VAULT)]
            answer = {"id": FOLDER, "path": "/x", "devices": devices}
        elif path == "/rest/config/devices":
            answer = [{"deviceID": ME, "name": "beta", "addresses": ["dynamic"]}] + [
                {
                    "deviceID": d,
                    "name": n,
                    "addresses": self.addresses[d],
                    "paused": d in self.paused,
                }
                for d, n in ((ALPHA, "alpha"), (VAULT, "vault"))
            ]
        elif path == "/rest/system/connections":
            answer = {
                "connections": {
                    d: {"connected": d in self.connected, "startedAt": _stamp(self.connected[d])}
                    if d in self.connected
                    else {"connected": False, "startedAt": "0001-01-01T00:00:00Z"}
                    for d in (ALPHA, VAULT)
                }
            }
        elif path == "/rest/db/file":
            return self._file(params["file"])
        elif path == "/rest/db/scan":
            self.scans.append(params.get_list("sub"))
            self.probe_modified = self.now
            self.probe_holders = set()
            self._acks_due = self.ack_after
            answer = {}
        elif path == "/rest/db/status":
            answer = {"needFiles": len(self.needed), "needDeletes": 0, "state": "idle"}
        elif path == "/rest/db/need":
            answer = {"progress": [], "queued": [], "rest": [{"name": n} for n in self.needed]}
        elif path == "/rest/config/options":
            answer = {"globalAnnounceEnabled": self.discovery, "localAnnounceEnabled": False}
        elif path == "/rest/system/version":
            answer = {"version": "v1.19.2"}
        else:
            return httpx.Response(404, text="no such path")
        return httpx.Response(200, json=answer)

    def _file(self, name: str) -> httpx.Response:
        if name in self.needed:
            holders = [{"id": d, "fromTemporary": False} for d in sorted(self.needed[name])]
            glob = {"name": name, "version": ["X:2"], "modified": _stamp(self.now)}
            return httpx.Response(
                200, json={"availability": holders, "global": glob, "local": {"version": []}}
            )
        if name != probe_name(ME) or self.probe_modified is None:
            return httpx.Response(404, text="no such file")
        if self._acks_due is not None:
            self._acks_due -= 1
            if self._acks_due <= 0:
                self.probe_holders = set(self.connected)
                self._acks_due = None
        entry = {"name": name, "version": ["ME:1"], "modified": _stamp(self.probe_modified)}
        holders = [{"id": d, "fromTemporary": False} for d in sorted(self.probe_holders)]
        return httpx.Response(200, json={"availability": holders, "global": entry, "local": entry})

    def client(self) -> SyncthingClient:
        return SyncthingClient(
            "http://127.0.0.1:8384", "k", transport=httpx.MockTransport(self.handler)
        )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _states(fake: FakeSyncthing) -> dict[str, str]:
    return {p.name: p.state for p in observe(fake.client(), FOLDER).peers}


def _wait(fake: FakeSyncthing, root: Path, *, scope: Any = None, timeout_s: float = 5.0) -> Any:
    clock = Clock()
    shown: list[str] = []
    seen = await_cluster(
        fake.client(),
        FOLDER,
        root,
        scope=scope,
        timeout_s=timeout_s,
        on_wait=shown.append,
        clock=clock,
        sleep=clock.sleep,
    )
    return seen, shown


def test_awareness_counts_a_fresh_connection_as_awaiting_its_index() -> None:
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 0.5
    assert _states(fake)["vault"] == AWAITING_INDEX


def test_awareness_counts_an_acknowledgement_written_during_the_connection_as_indexed() -> None:
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 60
    fake.probe_modified, fake.probe_holders = fake.now - 10, {VAULT}
    assert _states(fake)["vault"] == INDEXED


def test_awareness_asks_again_after_ten_minutes() -> None:
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 7200
    fake.probe_modified, fake.probe_holders = fake.now - 3600, {VAULT}
    assert _states(fake)["vault"] == AWAITING_INDEX


def test_awareness_ignores_an_acknowledgement_from_before_the_connection() -> None:
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 5
    fake.probe_modified, fake.probe_holders = fake.now - 3600, {VAULT}
    assert _states(fake)["vault"] == AWAITING_INDEX


def test_awareness_counts_a_peer_whose_every_dial_failed_as_unreachable() -> None:
    fake = FakeSyncthing()
    fake.dials[ALPHA_ADDRESS] = {"when": _stamp(fake.now), "error": "dial tcp x: connect: refused"}
    (alpha,) = [p for p in observe(fake.client(), FOLDER).peers if p.name == "alpha"]
    assert (alpha.state, alpha.detail) == (UNREACHABLE, "refused")


def test_awareness_waits_for_a_peer_not_dialled_yet() -> None:
    fake = FakeSyncthing()
    fake.uptime = 1
    assert _states(fake)["alpha"] == CONNECTING


def test_awareness_waits_for_a_peer_dialled_but_not_connected_yet() -> None:
    fake = FakeSyncthing()
    fake.uptime = 2
    fake.dials[ALPHA_ADDRESS] = {"when": _stamp(fake.now), "error": None}
    assert _states(fake)["alpha"] == CONNECTING


def test_awareness_stops_waiting_for_a_dial_that_never_completes() -> None:
    fake = FakeSyncthing()
    fake.uptime = 12
    assert _states(fake)["alpha"] == UNREACHABLE


def test_awareness_gives_a_peer_with_no_address_a_short_grace_only() -> None:
    fake = FakeSyncthing()
    fake.addresses[ALPHA] = ["dynamic"]
    fake.uptime = 1
    assert _states(fake)["alpha"] == CONNECTING
    fake.uptime = 5
    assert _states(fake)["alpha"] == UNREACHABLE


def test_awareness_does_not_wait_for_a_peer_nothing_could_find() -> None:
    fake = FakeSyncthing()
    fake.addresses[ALPHA] = ["dynamic"]
    fake.uptime, fake.discovery = 1, False
    assert _states(fake)["alpha"] == UNREACHABLE


def test_awareness_does_not_wait_for_a_paused_peer() -> None:
    fake = FakeSyncthing()
    fake.paused.add(ALPHA)
    assert _states(fake)["alpha"] == PAUSED


def test_awareness_is_isolated_when_no_peer_can_be_reached() -> None:
    fake = FakeSyncthing()
    for address in (ALPHA_ADDRESS, VAULT_ADDRESS):
        fake.dials[address] = {"when": _stamp(fake.now), "error": "connect: no route to host"}
    seen = observe(fake.client(), FOLDER)
    assert (seen.isolated, seen.complete) == (True, False)
    assert seen.missing() == "alpha (no route to host), vault (no route to host)"


def test_await_cluster_asks_a_fresh_peer_by_republishing_this_nodes_file(tmp_path: Path) -> None:
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 0.5
    fake.dials[ALPHA_ADDRESS] = {"when": _stamp(fake.now), "error": "connection refused"}
    seen, _shown = _wait(fake, tmp_path)
    assert seen.complete
    assert [p.label for p in seen.indexed] == ["vault"]
    assert fake.scans == [[probe_name(ME)]]


def test_await_cluster_keeps_the_node_files_versions_when_it_republishes(tmp_path: Path) -> None:
    publish(tmp_path, device_id=ME, name="beta", syncthing_version="v1.19.2", claude="2.1.331")
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 0.5
    _wait(fake, tmp_path)
    path = info_path(tmp_path, ME)
    info = NodeInfo.from_json(json.loads(path.read_text(encoding="utf-8")))
    assert (info.claude_version, info.syncthing_version) == ("2.1.331", "v1.19.2")
    assert path.stat().st_mode & 0o777 == 0o600


def test_await_cluster_shows_whose_index_it_waits_for(tmp_path: Path) -> None:
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 0.5
    fake.ack_after = 3
    _seen, shown = _wait(fake, tmp_path)
    assert "Waiting for vault's index…" in shown


def test_await_cluster_writes_nothing_when_every_peer_already_answered(tmp_path: Path) -> None:
    fake = FakeSyncthing()
    fake.connected = {VAULT: fake.now - 600, ALPHA: fake.now - 600}
    fake.probe_modified, fake.probe_holders = fake.now - 60, {VAULT, ALPHA}
    seen, shown = _wait(fake, tmp_path)
    assert (seen.complete, fake.scans, shown) == (True, [], [])
    assert not info_path(tmp_path, ME).exists()


def test_await_cluster_waits_for_an_announced_file_of_the_project(tmp_path: Path) -> None:
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 600
    fake.probe_modified, fake.probe_holders = fake.now - 60, {VAULT}
    fake.dials[ALPHA_ADDRESS] = {"when": _stamp(fake.now), "error": "connection refused"}
    fake.needed[f"{PROJECT}/s2.jsonl"] = {VAULT}
    scope = scope_for(None, tmp_path / PROJECT)
    seen, shown = _wait(fake, tmp_path, scope=scope, timeout_s=1)
    assert (seen.complete, seen.arriving) == (False, (f"{PROJECT}/s2.jsonl",))
    assert shown[-1] == "Waiting for 1 file the other machines have…"


def test_await_cluster_ignores_announced_files_of_other_projects(tmp_path: Path) -> None:
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 600
    fake.probe_modified, fake.probe_holders = fake.now - 60, {VAULT}
    fake.dials[ALPHA_ADDRESS] = {"when": _stamp(fake.now), "error": "connection refused"}
    fake.needed["-home-u-other/s9.jsonl"] = {VAULT}
    seen, _shown = _wait(fake, tmp_path, scope=scope_for(None, tmp_path / PROJECT))
    assert seen.complete


def test_await_cluster_does_not_wait_for_a_file_only_a_machine_that_is_off_has(
    tmp_path: Path,
) -> None:
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 600
    fake.probe_modified, fake.probe_holders = fake.now - 60, {VAULT}
    fake.dials[ALPHA_ADDRESS] = {"when": _stamp(fake.now), "error": "connection refused"}
    fake.needed[f"{PROJECT}/s3.jsonl"] = {ALPHA}
    seen, _shown = _wait(fake, tmp_path, scope=scope_for(None, tmp_path / PROJECT))
    assert seen.complete


def test_await_cluster_returns_what_it_knows_at_the_deadline(tmp_path: Path) -> None:
    fake = FakeSyncthing()
    fake.uptime = 1  # alpha and vault still being dialled, for ever
    seen, _shown = _wait(fake, tmp_path, timeout_s=2)
    assert (seen.complete, seen.isolated) == (False, False)
    assert {p.state for p in seen.peers} == {CONNECTING}


@pytest.mark.parametrize(
    ("query", "name", "wanted"),
    [
        (None, f"{PROJECT}/0a1b2c3d-0000-0000-0000-000000000000.jsonl", True),
        (None, "-home-u-other/0a1b2c3d-0000-0000-0000-000000000000.jsonl", False),
        (
            "0a1b2c3d-0000-0000-0000-000000000000",
            "-x/0a1b2c3d-0000-0000-0000-000000000000.jsonl",
            True,
        ),
        (
            "0a1b2c3d-0000-0000-0000-000000000000",
            "-x/ffff2c3d-0000-0000-0000-000000000000.jsonl",
            False,
        ),
        ("0a1b", "-x/0a1b2c3d-0000-0000-0000-000000000000.jsonl", True),
        ("0a1b", "-x/ffff2c3d-0000-0000-0000-000000000000.jsonl", False),
        ("shared notes", "-x/ffff2c3d-0000-0000-0000-000000000000.jsonl", True),
        ("shared notes", ".roam/nodes/X.json", False),
    ],
)
def test_scope_for_names_the_files_a_choice_depends_on(
    tmp_path: Path, query: str | None, name: str, wanted: bool
) -> None:
    assert scope_for(query, tmp_path / PROJECT)(name) is wanted


def test_await_cluster_writes_nothing_through_a_planted_link_at_its_node_file(
    tmp_path: Path,
) -> None:
    decoy = tmp_path / "decoy.json"
    decoy.write_text("mine\n")
    projects = tmp_path / "projects"
    info_path(projects, ME).parent.mkdir(parents=True)
    info_path(projects, ME).symlink_to(decoy)
    fake = FakeSyncthing()
    fake.connected[VAULT] = fake.now - 0.5
    fake.ack_after = 1_000_000  # vault never answers: only the deadline ends the wait
    seen, _shown = _wait(fake, projects, timeout_s=2)
    assert (seen.complete, decoy.read_text(), fake.scans) == (False, "mine\n", [])
    assert info_path(projects, ME).is_symlink()
