from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import httpx

from session_roam.engine.lease.rule import LeaseRule
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import StConfig
from session_roam.engine.syncthing.local import LocalSyncthing
from session_roam.engine.syncthing.models import SyncthingVersion
from session_roam.engine.verify.status import LeaseReach, collect_status, count_conflicts

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

ME = "HKHFN7Y-7TI5ZIW-ZIOBERK-MKLXZ7V-EKJOADU-PXKGBAY-DNV5YJL-EJSGTQL"
PEER = "LTZE65E-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"


def _ago(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)).isoformat()


def _local(projects: Path, gui_address: str = "127.0.0.1:8384") -> LocalSyncthing:
    answers: dict[str, Any] = {
        "/rest/system/status": {"myID": ME},
        "/rest/config/folders": [
            {
                "id": "claude-projects",
                "path": str(projects),
                "devices": [{"deviceID": ME}, {"deviceID": PEER}],
            }
        ],
        "/rest/config/devices": [
            {"deviceID": ME, "name": "me"},
            {"deviceID": PEER, "name": "laptop"},
        ],
        "/rest/db/status": {"state": "idle", "localFiles": 3, "globalFiles": 3},
        "/rest/stats/folder": {
            "claude-projects": {"lastFile": {"at": "2026-11-25T13:00:00Z", "filename": "p/s.jsonl"}}
        },
        "/rest/system/connections": {
            "connections": {
                PEER: {
                    "connected": True,
                    "address": "127.0.0.1:22001",
                    "startedAt": _ago(3600),
                }
            }
        },
        "/rest/config/folders/claude-projects": {
            "id": "claude-projects",
            "devices": [{"deviceID": ME}, {"deviceID": PEER}],
        },
        # the peer acknowledged this node's file, written after it connected: its index is here
        "/rest/db/file": {
            "availability": [{"id": PEER}],
            "global": {"version": ["ME:2"], "modified": _ago(60)},
            "local": {"version": ["ME:2"], "modified": _ago(60)},
        },
        "/rest/db/completion": {"completion": 99.9, "needItems": 1, "needBytes": 900},
        "/rest/cluster/pending/devices": {},
        "/rest/cluster/pending/folders": {},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers[request.url.path])

    config = StConfig(
        home=projects, gui_address=gui_address, gui_tls=False, listen_addresses=(), api_key="k"
    )
    client = SyncthingClient("http://127.0.0.1:8384", "k", transport=httpx.MockTransport(handler))
    return LocalSyncthing("syncthing", config, SyncthingVersion(1, 19, 2, "v1.19.2"), client)


def test_status_reports_what_peer_still_needs(tmp_path: Path) -> None:
    report = collect_status(_local(tmp_path), tmp_path)
    (peer,) = report.peers
    assert (peer.name, peer.connected, peer.need_items, peer.need_bytes) == ("laptop", True, 1, 900)
    assert not peer.in_sync


def test_status_reports_last_change_received(tmp_path: Path) -> None:
    folder = collect_status(_local(tmp_path), tmp_path).folder
    assert folder is not None
    assert folder.last_change_file == "p/s.jsonl"


def test_status_warns_when_gui_listens_on_network(tmp_path: Path) -> None:
    report = collect_status(_local(tmp_path, "0.0.0.0:8384"), tmp_path)
    assert not report.gui_on_loopback
    assert any("reachable from other machines" in w for w in report.warnings)


def test_status_has_no_gui_warning_on_loopback(tmp_path: Path) -> None:
    report = collect_status(_local(tmp_path), tmp_path)
    assert not any("reachable" in w for w in report.warnings)


def test_status_counts_this_machine_and_connected_peers_toward_a_lease(tmp_path: Path) -> None:
    leases = collect_status(_local(tmp_path), tmp_path).leases
    assert leases is not None
    assert (leases.devices, leases.reachable, leases.majority) == (2, 2, True)
    assert leases.describe().startswith("all 2 machines sharing the folder are reachable")


def test_status_lease_reach_with_a_machine_off_names_the_majority_rule() -> None:
    assert (
        LeaseReach(devices=3, reachable=2)
        .describe()
        .startswith("2 of 3 machines reachable, a majority")
    )
    assert "not a majority" in LeaseReach(devices=2, reachable=1).describe()


def test_status_lease_reach_of_two_machines_says_a_third_makes_one_writer_strict() -> None:
    both = LeaseReach(devices=2, reachable=2).describe()
    assert both.endswith("a third always-on Syncthing makes one writer strict")
    assert "(provisional)" in LeaseReach(devices=2, reachable=1).describe()
    assert "third" not in LeaseReach(devices=3, reachable=3).describe()


def test_status_lease_reach_of_two_machines_under_the_majority_rule_refuses() -> None:
    alone = LeaseReach(devices=2, reachable=1, rule=LeaseRule.MAJORITY).describe()
    assert alone.endswith("refuses until more connect (or --force)")


_SID = "0b8a3c1e-1111-4222-8333-944455556666"
_COPY = f"{_SID}.sync-conflict-20261125-131239-MRUWJBM.jsonl"


def test_count_conflicts_counts_the_sessions_copies_not_the_versions_archive_or_temp_files(
    tmp_path: Path,
) -> None:
    (tmp_path / "p" / _SID / "subagents").mkdir(parents=True)
    (tmp_path / ".stversions").mkdir()
    (tmp_path / "p" / _COPY).write_text("")
    (
        tmp_path / "p" / _SID / "subagents" / "agent-a.sync-conflict-20261125-131239-MRUWJBM.jsonl"
    ).write_text("")
    (tmp_path / ".stversions" / _COPY).write_text("")
    (tmp_path / "p" / f".syncthing.{_COPY}.tmp").write_text("")
    assert count_conflicts(tmp_path) == 2


def test_count_conflicts_comes_from_the_cache_while_a_live_watcher_keeps_it_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from session_roam.engine.sessions import summary_cache
    from session_roam.engine.sessions.summary_cache import open_cache

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / _COPY).write_text("")
    with open_cache() as cache:
        cache.refresh(tmp_path, ("p",), watcher=True)  # this process watches the folder
        cache.refresh(tmp_path)  # and a full walk came after
    walks: list[str] = []
    monkeypatch.setattr(summary_cache, "scan_sessions", lambda *a, **k: walks.append("walk"))
    assert count_conflicts(tmp_path) == 1
    assert walks == []


def test_status_json_has_stable_top_level_keys(tmp_path: Path) -> None:
    document = collect_status(_local(tmp_path), tmp_path).to_json()
    assert sorted(document) == [
        "autostart",
        "cluster",
        "conflicts",
        "folder",
        "leases",
        "peers",
        "pending_devices",
        "pending_folders",
        "projects_dir",
        "syncthing",
        "warnings",
        "watch",
        "watch_service",
    ]


def test_status_says_a_syncthing_outside_its_default_home_will_not_survive_a_reboot(
    tmp_path: Path,
) -> None:
    report = collect_status(_local(tmp_path), tmp_path)
    assert report.autostart is not None
    assert not report.autostart.survives_reboot
    assert report.to_json()["autostart"]["survives_reboot"] is False


def test_status_reports_whether_each_peers_index_has_arrived(tmp_path: Path) -> None:
    cluster = collect_status(_local(tmp_path), tmp_path).cluster
    assert cluster is not None
    assert [(p.name, p.state) for p in cluster.peers] == [("laptop", "indexed")]
