"""The full-mesh check of the ``leases`` dimension, and the ``folder_devices`` it reads.

The lease is only safe when every machine shares the folder with the same devices
(docs/design/lease.md, "Limits"); each node publishes its set, and verify compares them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.syncthing.nodeinfo import (
    NodeInfo,
    PeerNodeInfo,
    info_path,
    publish,
    read_nodes,
)
from session_roam.engine.verify.checks import run_checks
from session_roam.engine.verify.model import (
    FolderFacts,
    PeerFacts,
    ServiceFacts,
    Snapshot,
    Status,
    VerifyReport,
)

if TYPE_CHECKING:
    from session_roam.engine.verify.model import Finding

ALPHA: Final = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
BETA: Final = "BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB"
GAMMA: Final = "CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC"
VAULT: Final = "DDDDDDD-DDDDDDD-DDDDDDD-DDDDDDD-DDDDDDD-DDDDDDD-DDDDDDD-DDDDDDD"
PROJECTS: Final = "/home/u/.claude/projects"


def peer(device: str, name: str, *, untrusted: bool = False) -> PeerFacts:
    return PeerFacts(device, name, True, False, True, 0, 100.0, untrusted, untrusted)


def node(device: str, name: str, shared: tuple[str, ...] | None) -> PeerNodeInfo:
    info = NodeInfo(device, name, "0.1.0", "v1.19.2", "2.1.331", 1000.0, shared)
    return PeerNodeInfo(device, info, 1000.0)


def snapshot(peers: tuple[PeerFacts, ...], *nodes: PeerNodeInfo, leases: bool = True) -> Snapshot:
    """alpha's view: it shares the folder with ``peers`` (those marked shares_folder)."""
    return Snapshot(
        projects_dir=PROJECTS,
        service=ServiceFacts(
            True, "/st", True, False, version="v1.19.2", device_id=ALPHA, device_name="alpha"
        ),
        folder=FolderFacts("claude-projects", PROJECTS, "sendreceive", True, 1, False, (), 0),
        peers=peers,
        leases=() if leases else None,
        lease_error="" if leases else "the claims could not be listed",
        nodes={n.device_id: n for n in nodes},
        roam_version="0.1.0",
    )


def mesh_findings(snap: Snapshot) -> list[Finding]:
    return [f for f in run_checks(snap) if f.dimension == "leases" and f.status is Status.WARN]


# --- what a node publishes ---------------------------------------------------------------------


def test_publish_folder_devices_sorted_with_this_node_included(tmp_path: Path) -> None:
    info = publish(
        tmp_path,
        device_id=BETA,
        name="beta",
        syncthing_version="v1",
        claude="",
        folder_devices=[GAMMA, ALPHA],
    )
    assert info.folder_devices == (ALPHA, BETA, GAMMA)
    assert read_nodes(tmp_path)[BETA].info == info


def test_nodeinfo_without_folder_devices_is_unknown_not_malformed(tmp_path: Path) -> None:
    path = info_path(tmp_path, BETA)
    path.parent.mkdir(parents=True)
    older = {  # what roam wrote before folder_devices existed
        "schema": "roam.node/1",
        "device_id": BETA,
        "name": "beta",
        "roam_version": "0.1.0",
        "syncthing_version": "v1",
        "claude_version": "",
        "clock": 1.0,
    }
    path.write_text(json.dumps(older))
    found = read_nodes(tmp_path)[BETA]
    assert found.error == ""
    assert found.info is not None
    assert found.info.folder_devices is None
    assert "folder_devices" not in found.info.to_json()


def test_nodeinfo_with_malformed_folder_devices_is_unreadable(tmp_path: Path) -> None:
    publish(tmp_path, device_id=BETA, name="b", syncthing_version="v1", claude="")
    path = info_path(tmp_path, BETA)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "folder_devices": "everyone"}))
    found = read_nodes(tmp_path)[BETA]
    assert found.info is None
    assert "folder_devices" in found.error


# --- the check ---------------------------------------------------------------------------------


def test_verify_mesh_same_devices_everywhere_passes() -> None:
    snap = snapshot(
        (peer(BETA, "beta"), peer(VAULT, "vault", untrusted=True)),
        node(BETA, "beta", (ALPHA, BETA, VAULT)),
    )
    assert mesh_findings(snap) == []
    assert VerifyReport(run_checks(snap)).status_of("leases") is Status.OK


def test_verify_mesh_older_node_without_folder_devices_passes() -> None:
    snap = snapshot((peer(BETA, "beta"),), node(BETA, "beta", None))
    assert mesh_findings(snap) == []


def test_verify_mesh_untrusted_node_is_not_expected_to_publish() -> None:
    snap = snapshot(
        (peer(BETA, "beta"), peer(VAULT, "vault", untrusted=True)),
        node(BETA, "beta", (ALPHA, BETA, VAULT)),
    )
    assert [f for f in mesh_findings(snap) if f.subject == VAULT] == []


def test_verify_mesh_warns_when_a_peer_shares_with_more_devices() -> None:
    snap = snapshot((peer(BETA, "beta"),), node(BETA, "beta", (ALPHA, BETA, GAMMA)))
    (finding,) = mesh_findings(snap)
    assert finding.subject == BETA
    assert finding.message == (
        "beta shares the folder with {alpha, beta, CCCCCCC}, this machine with {alpha, beta}: "
        "leases need every machine to share it with the same devices."
    )
    assert finding.fix == f"roam peers add {GAMMA}   # then on CCCCCCC: roam peers add {ALPHA}"


def test_verify_mesh_warns_when_a_peer_lacks_the_untrusted_node() -> None:
    snap = snapshot(
        (peer(BETA, "beta"), peer(VAULT, "vault", untrusted=True)),
        node(BETA, "beta", (ALPHA, BETA)),
    )
    (finding,) = mesh_findings(snap)
    assert "{alpha, beta, vault}" in finding.message
    assert finding.fix == (f"roam peers add {VAULT} --untrusted --password-file FILE   # on beta")


def test_verify_mesh_warns_about_a_chain_node_that_is_not_a_peer() -> None:
    snap = snapshot(
        (peer(BETA, "beta"),),
        node(BETA, "beta", (ALPHA, BETA, GAMMA)),
        node(GAMMA, "gamma", (BETA, GAMMA)),
    )
    chain = next(f for f in mesh_findings(snap) if f.subject == GAMMA)
    assert chain.message.startswith(
        "gamma does not share the folder with this machine, yet its node file came here through "
        "another machine (a chain)"
    )
    assert chain.fix is not None
    assert chain.fix.startswith(
        f"roam peers add {GAMMA}   # then on gamma: roam peers add {ALPHA}; or, if gamma is gone"
    )
    assert chain.fix.endswith(str(info_path(Path(PROJECTS), GAMMA)))


def test_verify_mesh_chain_node_gets_one_warning_not_two() -> None:
    snap = snapshot(
        (peer(BETA, "beta"),),
        node(BETA, "beta", (ALPHA, BETA, GAMMA)),
        node(GAMMA, "gamma", (BETA, GAMMA)),
    )
    assert sorted(f.subject for f in mesh_findings(snap)) == [BETA, GAMMA]


def test_verify_mesh_peer_that_does_not_share_the_folder_counts_as_chain() -> None:
    outside = PeerFacts(GAMMA, "gamma", True, False, False, 0, 100.0)
    snap = snapshot((peer(BETA, "beta"), outside), node(GAMMA, "gamma", (BETA, GAMMA)))
    (finding,) = mesh_findings(snap)
    assert finding.subject == GAMMA
    assert "(a chain)" in finding.message


def test_verify_mesh_ignores_this_machines_own_stale_file() -> None:
    snap = snapshot((peer(BETA, "beta"),), node(ALPHA, "alpha", (ALPHA,)))
    assert mesh_findings(snap) == []


def test_verify_mesh_mismatch_is_a_warning_not_a_failure() -> None:
    snap = snapshot((peer(BETA, "beta"),), node(BETA, "beta", (ALPHA, BETA, GAMMA)))
    assert VerifyReport(run_checks(snap)).status_of("leases") is Status.WARN


def test_verify_mesh_is_checked_even_when_claims_cannot_be_listed() -> None:
    snap = snapshot((peer(BETA, "beta"),), node(BETA, "beta", (ALPHA, BETA, GAMMA)), leases=False)
    subjects = [f.subject for f in mesh_findings(snap)]
    assert subjects == ["", BETA]  # "Not checked" first, then the mesh warning


def test_verify_mesh_not_checked_without_the_folder() -> None:
    snap = Snapshot(
        projects_dir=PROJECTS,
        service=ServiceFacts(True, "/st", True, False, device_id=ALPHA),
        nodes={BETA: node(BETA, "beta", (ALPHA, BETA, GAMMA))},
        skipped="Syncthing does not share the folder",
    )
    assert [f.subject for f in mesh_findings(snap)] == [""]
