"""verify's clock check: a peer's node file says its clock when written, judged when it arrived."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from session_roam.engine.syncthing.models import Connection
from session_roam.engine.syncthing.nodeinfo import NodeInfo, PeerNodeInfo
from session_roam.engine.verify.checks_clock import check_clock
from session_roam.engine.verify.model import Status
from tests.engine.test_verify_mesh import BETA, peer, snapshot

if TYPE_CHECKING:
    from session_roam.engine.verify.model import Finding


def _clock(offset_s: float, *, connected_since: float | None) -> list[Finding]:
    """beta's node file written at 1,000 s on its clock, here ``1000 - offset_s``; beta
    connected at ``connected_since`` on this clock."""
    info = NodeInfo(BETA, "beta", "0.1.0", "v1.19.2", "2.1.331", 1000.0, None)
    node = PeerNodeInfo(BETA, info, arrived=1000.0 - offset_s)
    beta = replace(peer(BETA, "beta"), connected_since=connected_since)
    return [f for f in check_clock(snapshot((beta,), node)) if f.status is not Status.OK]


def test_a_peer_behind_is_named() -> None:
    found = _clock(-20.0, connected_since=0.0)
    assert [f.message for f in found] == ["beta's clock is about 20 s behind this machine's."]


def test_a_node_file_that_waited_for_the_connection_is_not_judged() -> None:
    # written before the pair connected, it arrived as they connected: 20 s "behind"
    assert _clock(-20.0, connected_since=1015.0) == []


def test_a_peer_ahead_is_named_even_right_after_it_connected() -> None:
    found = _clock(20.0, connected_since=975.0)
    assert [f.message for f in found] == ["beta's clock is about 20 s ahead of this machine's."]


def test_a_connection_start_is_read_from_syncthings_time() -> None:
    connection = Connection.from_json(
        BETA, {"connected": True, "startedAt": "2026-12-07T03:12:14.5Z"}
    )
    assert connection.started_epoch == 1796613134.5


def test_a_connection_never_started_has_no_start() -> None:
    never = Connection.from_json(BETA, {"connected": False, "startedAt": "0001-01-01T00:00:00Z"})
    assert never.started_epoch is None
