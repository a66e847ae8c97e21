"""`roam verify` flags a chain (alpha - beta - gamma) on real Syncthing, and stops once the
pairing it names is made.

The lease is only safe when every machine shares the folder with the same devices
(docs/design/lease.md, "Limits"). Each roam publishes its folder's devices in its node file;
in the chain, gamma's file reaches alpha through beta, so alpha can see both that beta counts a
device alpha does not and that gamma publishes here without being alpha's peer.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.syncthing.nodeinfo import read_nodes
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from tests.support.cluster import MakeCluster

pytestmark = pytest.mark.e2e

VENV_BIN: Final = str(Path(sys.executable).parent)
NEED: Final = "leases need every machine to share it with the same devices"


def roam(node: ClusterNode, *args: str) -> Any:
    env = {
        "HOME": str(node.home),
        "CLAUDE_CONFIG_DIR": str(node.claude_dir),
        "STHOMEDIR": str(node.syncthing_home),
        "SHELL": "/bin/bash",
        "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
    }
    return CliRunner().invoke(app, list(args), env=env)


def mesh_warnings(node: ClusterNode) -> dict[str, dict[str, Any]]:
    """``roam verify --json`` on ``node`` (which publishes its file): its leases warnings."""
    result = roam(node, "verify", "--json", "--shell", "bash")
    doc = json.loads(result.stdout)
    return {
        f["subject"]: f
        for f in doc["findings"]
        if f["dimension"] == "leases" and f["status"] == "warn" and NEED in f["message"]
    }


def wait_for_devices(reader: ClusterNode, writer: ClusterNode, devices: set[str]) -> None:
    """Until ``writer``'s node file on ``reader`` lists exactly ``devices``."""
    writer.client.scan("claude-projects", ".roam")

    def arrived() -> bool:
        found = read_nodes(reader.projects_dir).get(writer.device_id)
        info = None if found is None else found.info
        return info is not None and set(info.folder_devices or ()) == devices

    wait_until(arrived, what=f"{writer.name}'s folder devices on {reader.name}")


@pytest.fixture
def chain(make_cluster: MakeCluster) -> Cluster:
    """The chain cluster, with beta's and gamma's files published by their own verify."""
    cluster = make_cluster("chain")
    alpha, beta, gamma = cluster["alpha"], cluster["beta"], cluster["gamma"]
    mesh_warnings(beta)
    mesh_warnings(gamma)
    wait_for_devices(alpha, beta, {alpha.device_id, beta.device_id, gamma.device_id})
    wait_for_devices(alpha, gamma, {beta.device_id, gamma.device_id})
    return cluster


def test_verify_mesh_chain_warns_on_the_end_node(chain: Cluster) -> None:
    alpha, gamma = chain["alpha"], chain["gamma"]
    found = mesh_warnings(alpha)
    assert set(found) == {chain["beta"].device_id, gamma.device_id}
    beta_warning = found[chain["beta"].device_id]
    assert beta_warning["message"] == (
        "beta shares the folder with {alpha, beta, gamma}, this machine with {alpha, beta}: "
        f"{NEED}."
    )
    pairing = (
        f"roam peers add {gamma.device_id}   # then on gamma: roam peers add {alpha.device_id}"
    )
    assert beta_warning["fix"] == pairing
    chain_warning = found[gamma.device_id]
    assert "(a chain)" in chain_warning["message"]
    assert chain_warning["fix"].startswith(pairing)


def test_verify_mesh_pairing_the_ends_clears_the_warnings(chain: Cluster) -> None:
    alpha, beta, gamma = chain["alpha"], chain["beta"], chain["gamma"]
    for node, other in ((alpha, gamma), (gamma, alpha)):
        added = roam(node, "peers", "add", other.device_id, "--address", other.listen_address)
        assert added.exit_code == 0, added.output
    assert mesh_warnings(gamma) == {}  # gamma publishes its new set as it checks
    everyone = {alpha.device_id, beta.device_id, gamma.device_id}
    wait_for_devices(alpha, gamma, everyone)
    assert mesh_warnings(alpha) == {}
