"""A temp a killed roam left in the synced folder, on real Syncthing nodes: it never travels,
and it never stops another machine from deleting the folder that holds it."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from tests.support.cluster import wait_until
from tests.support.litter import dead_temp_name

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.cluster import Cluster

pytest_plugins = ["tests.support.cluster_fixtures"]
pytestmark = pytest.mark.e2e

SESSION = "3e0a4b1c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
FOLDER = f"-home-user-proj/{SESSION}"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_a_dead_temp_stays_on_its_machine(pair: Cluster) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    temp = f"{FOLDER}/subagents/{dead_temp_name()}"
    _write(alpha.projects_dir / temp, b"half a merge\n")
    _write(alpha.projects_dir / f"{FOLDER}/marker.jsonl", b"{}\n")
    wait_until(lambda: (beta.projects_dir / f"{FOLDER}/marker.jsonl").exists(), what="marker")
    pair.wait_in_sync()
    assert not (beta.projects_dir / temp).exists()


def test_a_folder_holding_a_dead_temp_is_deleted_from_the_other_machine(pair: Cluster) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    agent = f"{FOLDER}/subagents/agent-a1.jsonl"
    _write(alpha.projects_dir / agent, b'{"type":"user"}\n')
    wait_until(lambda: (beta.projects_dir / agent).exists(), what="the subagent file on beta")
    _write(beta.projects_dir / f"{FOLDER}/subagents/{dead_temp_name()}", b"half a write\n")
    shutil.rmtree(alpha.projects_dir / FOLDER)
    wait_until(
        lambda: not (beta.projects_dir / FOLDER).exists(),
        timeout_s=30,
        what="beta to delete the folder, ignored temp and all",
    )
