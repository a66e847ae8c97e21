"""The verify checks as pure functions: one hand-made snapshot per behaviour."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from session_roam.engine.core.backup_bound import BackupBound, BackupUsage
from session_roam.engine.lease.api import LeaseView
from session_roam.engine.syncthing.ignore import template_text
from session_roam.engine.syncthing.nodeinfo import NodeInfo, PeerNodeInfo
from session_roam.engine.verify.checks import CHECKS, run_checks
from session_roam.engine.verify.model import (
    DIMENSIONS,
    ConflictFacts,
    DeletionFacts,
    DiskFacts,
    FolderFacts,
    NamespaceFacts,
    PeerFacts,
    ServiceFacts,
    SessionCopyFacts,
    ShortcutFacts,
    Snapshot,
    Status,
    VerifyReport,
    WatchFacts,
)

ME = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
PEER = "BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB"
SESSION = "0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40"


def healthy() -> Snapshot:
    return Snapshot(
        projects_dir="/home/u/.claude/projects",
        service=ServiceFacts(
            installed=True,
            config_home="/home/u/.local/state/syncthing",
            reachable=True,
            key_rejected=False,
            version="v1.19.2",
            config_gui_address="127.0.0.1:8384",
            running_gui_address="127.0.0.1:8384",
            device_id=ME,
            device_name="alpha",
        ),
        folder=FolderFacts(
            "claude-projects", "/home/u/.claude/projects", "sendreceive", True, 1, False, (), 0
        ),
        peers=(PeerFacts(PEER, "beta", True, False, True, 0, 100.0),),
        sessions_checked=3,
        stignore=template_text(),
        template=template_text(),
        shortcuts=ShortcutFacts("bash", "/home/u/.bashrc", True, "/usr/bin/roam", "/usr/bin/roam"),
        leases=(),
        nodes={
            PEER: PeerNodeInfo(
                PEER,
                NodeInfo(
                    PEER, "beta", "0.1.0", "v1.19.2", "2.1.331", 1000.5,
                    ignore_delete=True, cleanup_days=99999, policy_known=True,
                ),
                1000.0,
            )
        },
        roam_version="0.1.0",
        claude_version="2.1.331",
        disk=DiskFacts(50 * 2**30, 100 * 2**30),
        backups=BackupUsage(BackupBound(), 2**20, 1, 3.0, (), 0, 2**20),
        deletions=DeletionFacts(cleanup_days=99999),
    )  # fmt: skip


def statuses(snap: Snapshot) -> dict[str, str]:
    report = VerifyReport(run_checks(snap))
    return {d: report.status_of(d).value for d in DIMENSIONS}


def only_failing(snap: Snapshot) -> set[str]:
    return {d for d, s in statuses(snap).items() if s == "fail"}


def view(**changes: Any) -> LeaseView:
    base = LeaseView(
        session=SESSION, device=ME, name="alpha", state="held", ticket=1, live=True,
        expired=False, age_s=0.0, since="", is_self=True, stolen_from=None,
        superseded_by=None, forced_past=(), release=None, error="",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def test_checks_cover_every_dimension_in_order() -> None:
    assert tuple(CHECKS) == DIMENSIONS


def test_verify_healthy_snapshot_is_ok_everywhere() -> None:
    assert set(statuses(healthy()).values()) == {"ok"}


def test_verify_report_json_has_schema_and_exit_meaning() -> None:
    doc = VerifyReport(run_checks(healthy())).to_json()
    assert doc["schema"] == "roam.verify/1"
    assert doc["ok"] is True
    assert doc["summary"] == {
        "ok": len(DIMENSIONS),
        "info": 0,
        "advice": 0,
        "warn": 0,
        "fail": 0,
    }


def test_verify_service_down_fails_only_service() -> None:
    snap = dataclasses.replace(
        healthy(),
        service=ServiceFacts(True, "/h", False, False, error="nothing answers"),
        folder=None,
        peers=(),
        leases=None,
        skipped="nothing answers",
    )
    assert only_failing(snap) == {"service"}


def test_verify_service_down_is_auto_fixed_only_when_roam_started_it() -> None:
    down = ServiceFacts(True, "/h", False, False, error="x", supervised=True)
    finding = CHECKS["service"](dataclasses.replace(healthy(), service=down))[0]
    assert (finding.status, finding.auto) == (Status.FAIL, True)


def test_verify_rejected_key_fails_api_not_service() -> None:
    service = dataclasses.replace(healthy().service, reachable=False, key_rejected=True)
    snap = dataclasses.replace(healthy(), service=service, skipped="the API key was refused")
    assert only_failing(snap) == {"api"}


def test_verify_gui_on_wildcard_address_fails_api() -> None:
    service = dataclasses.replace(healthy().service, config_gui_address="0.0.0.0:8384")
    [finding] = CHECKS["api"](dataclasses.replace(healthy(), service=service))
    assert finding.status is Status.FAIL
    assert finding.fix is not None
    assert "127.0.0.1:8384" in finding.fix


def test_verify_unshared_folder_fails_folder_only() -> None:
    snap = dataclasses.replace(healthy(), folder=None, leases=None, skipped="not shared")
    assert only_failing(snap) == {"folder"}


def test_verify_long_watcher_delay_warns() -> None:
    folder = FolderFacts("claude-projects", "/p", "sendreceive", True, 10, False, (), 0)
    [finding] = CHECKS["folder"](dataclasses.replace(healthy(), folder=folder))
    assert finding.status is Status.WARN


def test_verify_disconnected_peer_warns_peers_and_sessions_without_failing() -> None:
    peer = PeerFacts(PEER, "beta", False, False, True, 0, 100.0)
    snap = dataclasses.replace(healthy(), peers=(peer,))
    assert only_failing(snap) == set()
    assert statuses(snap)["peers"] == "warn"
    assert statuses(snap)["sessions"] == "warn"


def test_verify_session_missing_on_peer_fails_after_grace() -> None:
    gap = SessionCopyFacts(f"-p/{SESSION}.jsonl", "beta", 60.0)
    snap = dataclasses.replace(healthy(), sessions_missing=(gap,))
    assert only_failing(snap) == {"sessions"}


def test_verify_session_just_written_only_warns() -> None:
    gap = SessionCopyFacts(f"-p/{SESSION}.jsonl", "beta", 1.0)
    assert statuses(dataclasses.replace(healthy(), sessions_missing=(gap,)))["sessions"] == "warn"


def test_verify_missing_stignore_fails_with_auto_fix() -> None:
    [finding] = CHECKS["ignore"](dataclasses.replace(healthy(), stignore=None))
    assert (finding.status, finding.auto, finding.fix) == (Status.FAIL, True, "roam verify --fix")


def test_verify_stignore_ignoring_sessions_fails_without_auto_fix() -> None:
    snap = dataclasses.replace(healthy(), stignore=template_text() + "*.jsonl\n")
    [finding] = CHECKS["ignore"](snap)
    assert (finding.status, finding.auto) == (Status.FAIL, False)


def test_verify_conflict_of_leased_session_is_not_auto_fixed() -> None:
    snap = dataclasses.replace(healthy(), conflicts=(ConflictFacts(SESSION, "-p", 2, True),))
    [finding] = CHECKS["conflicts"](snap)
    assert (finding.status, finding.auto) == (Status.FAIL, False)
    assert finding.fix == f"roam conflicts merge {SESSION}"


def test_verify_reports_a_take_over_fork_with_the_merge_that_repairs_it() -> None:
    snap = dataclasses.replace(healthy(), conflicts=(ConflictFacts(SESSION, "-p", 0, False),))
    [finding] = CHECKS["conflicts"](snap)
    assert (finding.status, finding.auto, finding.fix) == (
        Status.FAIL,
        True,
        f"roam conflicts merge {SESSION}",
    )
    assert "two machines that parted after a take-over" in finding.message


def test_verify_missing_shortcuts_are_advice_with_the_install_command_never_a_failure() -> None:
    shortcuts = ShortcutFacts("zsh", "/home/u/.zshrc", False, None, None)
    [finding] = CHECKS["shortcuts"](dataclasses.replace(healthy(), shortcuts=shortcuts))
    assert finding.status is Status.ADVICE
    assert finding.fix == "roam shell install --shell zsh"


def test_verify_shortcuts_running_another_roam_warn() -> None:
    shortcuts = ShortcutFacts("bash", "/home/u/.bashrc", True, "/opt/old/roam", "/usr/bin/roam")
    [finding] = CHECKS["shortcuts"](dataclasses.replace(healthy(), shortcuts=shortcuts))
    assert finding.status is Status.WARN


@pytest.mark.parametrize(
    ("titles", "fails"),
    [
        (("notes", "agent:bot/x"), True),
        (("agent:a/x", "agent:b/y"), True),
        (("agent:bot/x", "agent:bot/y"), False),
        (("notes", "todo"), False),
    ],
)
def test_verify_namespaces_flag_agent_sessions_in_others_folders(
    titles: tuple[str, str], fails: bool
) -> None:
    items = tuple(NamespaceFacts("-desk", f"s{i}", t) for i, t in enumerate(titles))
    snap = dataclasses.replace(healthy(), namespaces=items)
    assert (only_failing(snap) == {"namespaces"}) is fails


def test_verify_own_claim_without_local_holder_is_orphaned() -> None:
    snap = dataclasses.replace(healthy(), leases=(view(live=False, expired=True),))
    [finding] = CHECKS["leases"](snap)
    assert finding.status is Status.FAIL
    assert finding.fix == f"roam lease release {SESSION}"


def test_verify_claim_of_unknown_device_is_orphaned() -> None:
    stranger = "C" * 7 + "-CCCCCCC" * 7
    snap = dataclasses.replace(healthy(), leases=(view(device=stranger, is_self=False),))
    [finding] = CHECKS["leases"](snap)
    assert finding.fix == f"roam lease steal {SESSION}"


def test_verify_session_held_twice_fails() -> None:
    both = (view(), view(device=PEER, is_self=False, name="beta"))
    [finding] = CHECKS["leases"](dataclasses.replace(healthy(), leases=both))
    assert "held by 2 machines" in finding.message


def test_verify_released_claims_are_fine() -> None:
    snap = dataclasses.replace(healthy(), leases=(view(state="released", live=False),))
    assert statuses(snap)["leases"] == "ok"


def test_verify_roam_version_skew_fails() -> None:
    snap = dataclasses.replace(healthy(), roam_version="0.2.0")
    assert only_failing(snap) == {"versions"}


def test_verify_syncthing_minor_skew_warns() -> None:
    service = dataclasses.replace(healthy().service, version="v1.27.0")
    assert statuses(dataclasses.replace(healthy(), service=service))["versions"] == "warn"


def test_verify_unpublished_peer_is_info_in_versions() -> None:
    assert statuses(dataclasses.replace(healthy(), nodes={}))["versions"] == "info"


def test_verify_does_not_expect_versions_from_an_always_on_node() -> None:
    snap = healthy()
    vault = dataclasses.replace(snap.peers[0], untrusted=True, encrypted=True)
    assert statuses(dataclasses.replace(snap, peers=(vault,), nodes={}))["versions"] == "ok"


@pytest.mark.parametrize(("offset", "status"), [(2, "ok"), (30, "warn"), (-300, "fail")])
def test_verify_clock_skew_thresholds(offset: float, status: str) -> None:
    info = NodeInfo(PEER, "beta", "0.1.0", "v1.19.2", "2.1.331", 1000.0 + offset)
    snap = dataclasses.replace(healthy(), nodes={PEER: PeerNodeInfo(PEER, info, 1000.0)})
    assert statuses(snap)["clock"] == status


def test_verify_foreign_home_path_fails_with_map_command() -> None:
    snap = dataclasses.replace(
        healthy(),
        foreign_cwds=("/Users/nat/proj",),
        path_suggestion="roam paths map /Users/nat /home/u",
    )
    [finding] = CHECKS["paths"](snap)
    assert (finding.status, finding.fix) == (Status.FAIL, "roam paths map /Users/nat /home/u")


def test_verify_low_disk_fails() -> None:
    snap = dataclasses.replace(healthy(), disk=DiskFacts(10 * 2**20, 100 * 2**30))
    assert only_failing(snap) == {"disk"}


def test_verify_warns_when_no_roam_watch_runs_and_names_its_install() -> None:
    snap = dataclasses.replace(healthy(), watch=WatchFacts("not installed", running=False))
    warned = [f for f in run_checks(snap) if f.status is not Status.OK]
    assert [(f.dimension, f.status, f.fix) for f in warned] == [
        ("watch", Status.WARN, "roam watch install")
    ]
    assert "conflict copies wait" in warned[0].message


def test_verify_is_ok_when_roam_watch_runs() -> None:
    snap = dataclasses.replace(healthy(), watch=WatchFacts("running", running=True))
    assert statuses(snap)["watch"] == "ok"


def test_fifty_thousand_sessions_without_roam_watch_name_the_walk_in_its_warning() -> None:
    watch = WatchFacts("not installed", running=False)
    snap = dataclasses.replace(healthy(), walked_sessions=50_000, watch=watch)
    [finding] = CHECKS["watch"](snap)
    assert "50,000 session files" in finding.message


def test_a_few_thousand_sessions_without_roam_watch_leave_the_walk_unnamed() -> None:
    watch = WatchFacts("not installed", running=False)
    snap = dataclasses.replace(healthy(), walked_sessions=9_999, watch=watch)
    [finding] = CHECKS["watch"](snap)
    assert "session files" not in finding.message
    assert statuses(snap)["synced-data"] == "ok"
