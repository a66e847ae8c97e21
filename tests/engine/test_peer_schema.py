"""Issue 22: roam's state from peers (.roam/) is checked by a schema before use."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import pytest

from session_roam.engine.core.peer_schema import (
    MAX_STATE_BYTES,
    PeerDataError,
    load_state,
    read_state_bytes,
)
from session_roam.engine.deletions.tombstones import (
    TOMBSTONES_DIR,
    invalid_tombstones,
    is_tombstoned,
    remove_session,
    tombstoned_sessions,
)
from session_roam.engine.lease.model import parse_claim
from session_roam.engine.syncthing.nodeinfo import NODES_DIR, publish, read_nodes

if TYPE_CHECKING:
    from pathlib import Path

DEVICE: Final = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
SID: Final = "0b5c7a52-9d1e-4b0e-9a55-3c1c1d2e3f40"
OTHER: Final = "1c6d8b63-0e2f-4c1f-8b66-4d2d2e3f4051"
DEEP: Final = b"[" * 100_000 + b"]" * 100_000


def _node(tmp_path: Path, **changes: Any) -> str:
    publish(tmp_path, device_id=DEVICE, name="a", syncthing_version="v1", claude="2")
    path = tmp_path / NODES_DIR / f"{DEVICE}.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))
    return read_nodes(tmp_path)[DEVICE].error


def test_a_sound_node_file_is_read(tmp_path: Path) -> None:
    assert _node(tmp_path) == ""


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"clock": "NaN"}, "clock"),
        ({"clock": True}, "clock"),
        ({"roam_version": {"x": 1}}, "roam_version"),
        ({"name": "n" * 5000}, "longer than"),
        ({"device_id": "[bold]x[/bold]"}, "device id"),
        ({"folder_devices": ["not-a-device"]}, "folder_devices"),
        ({"device_id": DEVICE.replace("A", "B")}, "file name"),
    ],
)
def test_a_node_file_that_fails_its_schema_is_reported_not_used(
    tmp_path: Path, changes: dict[str, Any], reason: str
) -> None:
    assert reason in _node(tmp_path, **changes)


def test_a_node_file_nested_100000_deep_is_reported_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / NODES_DIR).mkdir(parents=True)
    (tmp_path / NODES_DIR / f"{DEVICE}.json").write_bytes(DEEP)
    assert "nested deeper" in read_nodes(tmp_path)[DEVICE].error


def test_a_state_file_over_the_cap_is_refused_after_reading_only_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b" " * (MAX_STATE_BYTES + 10))
    with pytest.raises(PeerDataError, match="larger than"):
        read_state_bytes(path, tmp_path)


def test_load_state_refuses_what_is_not_one_json_object() -> None:
    with pytest.raises(PeerDataError, match="not a JSON object"):
        load_state(b"[1]")
    with pytest.raises(PeerDataError, match="not JSON"):
        load_state(b"\xff")


def test_a_claim_nested_100000_deep_is_corrupt_not_a_recursion_error() -> None:
    with pytest.raises(ValueError, match="nested deeper"):
        parse_claim(DEEP, session=SID, device=DEVICE)


def test_a_claim_whose_name_is_not_text_is_corrupt() -> None:
    raw = json.dumps(
        {
            "schema": 1,
            "session": SID,
            "device": DEVICE,
            "state": "released",
            "ticket": 0,
            "ttl_s": 60,
            "counter": 1,
            "name": ["x"],
        }
    ).encode()
    with pytest.raises(ValueError, match="name"):
        parse_claim(raw, session=SID, device=DEVICE)


def _stone(projects: Path, name: str, body: bytes) -> None:
    (projects / TOMBSTONES_DIR).mkdir(parents=True, exist_ok=True)
    (projects / TOMBSTONES_DIR / name).write_bytes(body)


def test_a_tombstone_naming_another_session_deletes_nothing(tmp_path: Path) -> None:
    _stone(
        tmp_path,
        f"{SID}.json",
        json.dumps({"schema": "roam.tombstone/1", "session": OTHER}).encode(),
    )
    assert not is_tombstoned(tmp_path, SID)
    assert tombstoned_sessions(tmp_path) == frozenset()
    assert "another session" in invalid_tombstones(tmp_path)[f"{SID}.json"]


def test_a_tombstone_that_is_not_json_deletes_nothing(tmp_path: Path) -> None:
    _stone(tmp_path, f"{SID}.json", DEEP)
    assert tombstoned_sessions(tmp_path) == frozenset()
    assert f"{SID}.json" in invalid_tombstones(tmp_path)


def test_roam_rms_own_tombstone_passes_the_schema(tmp_path: Path) -> None:
    (tmp_path / "-p").mkdir()
    (tmp_path / "-p" / f"{SID}.jsonl").write_text('{"a":1}\n')
    remove_session(tmp_path, SID, device_id=DEVICE)
    assert tombstoned_sessions(tmp_path) == frozenset({SID})
    assert invalid_tombstones(tmp_path) == {}
