"""Each node's published versions and clock sample."""

from __future__ import annotations

import json
import stat
import time
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.store import syncthing_temp
from session_roam.engine.syncthing.nodeinfo import NodeInfo, info_path, publish, read_nodes
from session_roam.engine.verify.checks_synced import gather_synced_data

if TYPE_CHECKING:
    from pathlib import Path

DEVICE = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"


def test_publish_writes_private_file_under_roam_nodes(tmp_path: Path) -> None:
    publish(tmp_path, device_id=DEVICE, name="a", syncthing_version="v1.19.2", claude="2.1.331")
    path = info_path(tmp_path, DEVICE)
    assert path == tmp_path / ".roam" / "nodes" / f"{DEVICE}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_publish_round_trips_through_read_nodes(tmp_path: Path) -> None:
    info = publish(
        tmp_path, device_id=DEVICE, name="a", syncthing_version="v1", claude="2", clock=5.0
    )
    assert read_nodes(tmp_path)[DEVICE].info == info


def test_read_nodes_measures_offset_against_arrival(tmp_path: Path) -> None:
    publish(tmp_path, device_id=DEVICE, name="a", syncthing_version="v1", claude="", clock=0.0)
    found = read_nodes(tmp_path)[DEVICE]
    assert found.clock_offset_s is not None
    assert found.clock_offset_s < -1_000_000  # a clock at 1970 is far behind this one


def test_read_nodes_reports_unreadable_file(tmp_path: Path) -> None:
    path = info_path(tmp_path, DEVICE)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"schema": "something-else"}))
    found = read_nodes(tmp_path)[DEVICE]
    assert found.info is None
    assert found.error


def _first_version_downloading(projects: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Syncthing writes its temp of a peer's first node file; nothing renamed in yet."""
    path = info_path(projects, DEVICE)
    path.parent.mkdir(parents=True)
    syncthing_temp(path).write_bytes(b'{"schema": "roam.node/1"')
    monkeypatch.setattr("session_roam.engine.core.store.SWAP_WAIT_S", 0.01)


def test_read_nodes_reports_a_first_node_file_still_downloading_as_arriving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _first_version_downloading(tmp_path, monkeypatch)
    found = read_nodes(tmp_path)[DEVICE]
    assert (found.arriving, found.error, found.info) == (True, "", None)


def test_verify_does_not_list_a_node_file_still_downloading_as_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _first_version_downloading(tmp_path, monkeypatch)
    assert gather_synced_data(tmp_path) == ((), ())


def test_read_nodes_leaves_out_a_temp_syncthing_left_long_ago(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _first_version_downloading(tmp_path, monkeypatch)
    later = time.time() + 3600  # an hour on and never renamed: a failed pull's temp
    monkeypatch.setattr("session_roam.engine.core.store.time.time", lambda: later)
    assert read_nodes(tmp_path) == {}


def test_read_nodes_without_folder_is_empty(tmp_path: Path) -> None:
    assert read_nodes(tmp_path) == {}


def test_node_info_rejects_missing_fields() -> None:
    with pytest.raises(ValueError, match="malformed"):
        NodeInfo.from_json({"schema": "roam.node/1", "device_id": DEVICE})
