"""The pull after a lease barrier, against a stand-in for Syncthing's REST client."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.syncthing.models import Connection, Event, FileInfo
from session_roam.errors import HolderOffline, PeerUnreachable, SyncthingError, SyncTimeout

if TYPE_CHECKING:
    from pathlib import Path

SESSION = "0b5f3c1e-8a2d-4c6f-9e1b-2d3c4b5a6f70"


class _Client:
    """Each claim's global version is ALPHA:2, held by ``holders[device]``; ours is ``local``."""

    def __init__(self, *, online: set[str], holders: dict[str, list[str]]) -> None:
        self.online = online
        self.holders = holders
        self.local: dict[str, list[str]] = {}
        self.asked: list[str] = []  # every request, in order

    def my_id(self) -> str:
        self.asked.append("my_id")
        return "ME"

    def devices(self) -> list[Any]:
        return [SimpleNamespace(device_id=d, name=d.lower()) for d in ("ME", "ALPHA", "VAULT")]

    def folder(self, _folder: str) -> Any:
        return SimpleNamespace(device_ids=("ME", "ALPHA", "VAULT"))

    def connections(self) -> dict[str, Connection]:
        return {d: Connection(d, d in self.online, False, "", "") for d in ("ALPHA", "VAULT")}

    def file_info(self, _folder: str, name: str) -> FileInfo | None:
        device = name.rsplit("/", 1)[-1].removesuffix(".json")
        self.asked.append(f"file {device}")
        if device not in self.holders:
            return None
        return FileInfo.from_json(
            {
                "global": {"name": name, "version": ["ALPHA:2"]},
                "local": {"name": name, "version": self.local.get(device, ["ALPHA:1"])},
                "availability": [{"id": d} for d in self.holders[device]],
            }
        )


def _transport(client: _Client, tmp_path: Path) -> SyncthingTransport:
    return SyncthingTransport(client, tmp_path, folder_id="f")  # type: ignore[arg-type]  # stand-in


def test_lease_pull_refuses_at_once_a_claim_only_an_offline_machine_has(tmp_path: Path) -> None:
    client = _Client(online={"VAULT"}, holders={"ALPHA": ["ALPHA"]})
    with pytest.raises(HolderOffline, match="only on machines that are off"):
        _transport(client, tmp_path)._pull_claims(SESSION, deadline=1e18, timeout_s=10)


def test_lease_pull_waits_for_a_claim_a_connected_peer_has(tmp_path: Path) -> None:
    client = _Client(online={"VAULT"}, holders={"ALPHA": ["ALPHA", "VAULT"]})
    with pytest.raises(SyncTimeout, match="did not receive the lease claims of alpha"):
        _transport(client, tmp_path)._pull_claims(SESSION, deadline=0, timeout_s=0)


def test_lease_pull_returns_once_every_announced_claim_is_here(tmp_path: Path) -> None:
    client = _Client(online={"VAULT"}, holders={"ALPHA": ["ALPHA", "VAULT"]})
    client.local["ALPHA"] = ["ALPHA:2"]
    _transport(client, tmp_path)._pull_claims(SESSION, deadline=0, timeout_s=0)


def test_lease_pull_does_not_ask_again_for_a_claim_it_was_just_told_about(
    tmp_path: Path,
) -> None:
    """The barrier's last answer about our own claim starts the pull: one request less."""
    client = _Client(online={"ALPHA", "VAULT"}, holders={"ALPHA": ["ALPHA"], "ME": ["ME"]})
    client.local = {"ALPHA": ["ALPHA:2"], "ME": ["ALPHA:2"]}
    ours = client.file_info("f", f".roam/leases/{SESSION}/ME.json")
    assert ours is not None
    transport = _transport(client, tmp_path)
    client.asked.clear()
    transport._pull_claims(SESSION, deadline=0, timeout_s=0, known={"ME": ours})
    assert client.asked == ["file ALPHA", "file VAULT"]


def test_lease_pull_asks_afresh_after_its_first_look(tmp_path: Path) -> None:
    client = _Client(online={"ALPHA"}, holders={"ALPHA": ["ALPHA"], "ME": ["ME"]})
    client.local = {"ME": ["ALPHA:2"]}  # ALPHA's claim not here yet: a second look follows
    ours = client.file_info("f", f".roam/leases/{SESSION}/ME.json")
    assert ours is not None
    answer = client.file_info

    def arrives(folder: str, name: str) -> FileInfo | None:
        found = answer(folder, name)
        client.local["ALPHA"] = ["ALPHA:2"]  # it has arrived by the next look
        return found

    client.file_info = arrives  # type: ignore[method-assign,assignment]
    transport = _transport(client, tmp_path)
    client.asked.clear()
    transport._pull_claims(SESSION, deadline=1e18, timeout_s=10, known={"ME": ours})
    assert client.asked == ["file ALPHA", "file VAULT", "file ALPHA", "file ME", "file VAULT"]


def test_lease_transport_takes_a_device_id_it_is_given_without_asking(tmp_path: Path) -> None:
    client = _Client(online=set(), holders={})
    transport = SyncthingTransport(client, tmp_path, "f", "ME")  # type: ignore[arg-type]
    assert transport.device_id == "ME"
    assert client.asked == []


def test_lease_transport_asks_for_its_device_id_when_not_given(tmp_path: Path) -> None:
    client = _Client(online=set(), holders={})
    assert _transport(client, tmp_path).device_id == "ME"
    assert client.asked == ["my_id"]


def test_lease_pull_raises_what_a_lookup_of_a_peer_raised(tmp_path: Path) -> None:
    client = _Client(online={"ALPHA", "VAULT"}, holders={"ALPHA": ["ALPHA"]})

    def refused(_folder: str, name: str) -> FileInfo | None:
        if name.endswith("VAULT.json"):
            raise SyncthingError("Syncthing answered 500 to GET /rest/db/file.")
        return None

    client.file_info = refused  # type: ignore[method-assign]
    with pytest.raises(SyncthingError, match="answered 500"):
        _transport(client, tmp_path)._pull_claims(SESSION, deadline=0, timeout_s=0)


class _Scanning(_Client):
    def scan(self, _folder: str, subs: list[str]) -> None:
        self.asked.append("scan")

    def subscribe(self, _events: object) -> Any:
        self.asked.append("subscribe")
        return SimpleNamespace(poll=lambda _timeout: [])


def _release_like(client: _Scanning, transport: SyncthingTransport) -> None:
    """A publish that names whom it waits for only when asked, as the lease's release does."""

    def connected() -> list[str]:
        client.asked.append("peers")
        return []

    claim = SimpleNamespace(session=SESSION, device="ME")
    transport.publish(claim, wait_for=connected, timeout_s=1.0)  # type: ignore[arg-type]


def test_a_release_asks_which_peers_to_wait_for_once_its_scan_is_asked_for(
    tmp_path: Path,
) -> None:
    """The peers receive the release while it asks whom to wait for: off the hand-over's path."""
    client = _Scanning(online=set(), holders={})
    transport = _transport(client, tmp_path)
    transport._subscription = client.subscribe(())  # the acquisition's, still open
    client.asked.clear()
    _release_like(client, transport)
    assert client.asked == ["scan", "peers"]


def test_a_release_without_a_subscription_asks_whom_to_wait_for_before_its_scan(
    tmp_path: Path,
) -> None:
    """Without one, an event of a peer's confirmation could come before it subscribed."""
    client = _Scanning(online=set(), holders={})
    transport = _transport(client, tmp_path)
    client.asked.clear()
    _release_like(client, transport)
    assert client.asked == ["peers", "scan"]


def _backlog(client: _Scanning) -> Any:
    """The acquisition's subscription, its backlog holding ALPHA's disconnect of hours ago; the
    poll after it delivers ALPHA's confirmation of the release."""
    polls = [
        [Event(1, 1, "DeviceDisconnected", "", {"id": "ALPHA"})],
        [Event(2, 2, "RemoteIndexUpdated", "", {"device": "ALPHA"})],
    ]

    def poll(_timeout: float) -> list[Event]:
        if not polls:
            return []
        if len(polls) == 1:
            client.holders["ME"] = ["ME", "ALPHA"]
        return polls.pop(0)

    return SimpleNamespace(poll=poll)


def _release_to_alpha(client: _Scanning, tmp_path: Path) -> None:
    client.holders["ME"] = ["ME"]
    transport = _transport(client, tmp_path)
    transport._subscription = _backlog(client)
    claim = SimpleNamespace(session=SESSION, device="ME")
    transport.publish(claim, wait_for=lambda: ["ALPHA"], timeout_s=2.0)  # type: ignore[arg-type]


def test_a_release_waits_for_a_peer_whose_old_disconnect_is_in_the_backlog_but_is_back(
    tmp_path: Path,
) -> None:
    client = _Scanning(online={"ALPHA"}, holders={})
    _release_to_alpha(client, tmp_path)
    assert client.holders["ME"] == ["ME", "ALPHA"]  # returned on ALPHA's confirmation


def test_a_release_stops_waiting_for_a_peer_that_disconnected_and_is_still_off(
    tmp_path: Path,
) -> None:
    client = _Scanning(online=set(), holders={})
    with pytest.raises(PeerUnreachable, match="disconnected"):
        _release_to_alpha(client, tmp_path)


def test_a_release_whose_events_never_come_still_sees_the_confirmation_after_a_quiet_poll(
    tmp_path: Path,
) -> None:
    """A Syncthing restarted since the acquisition numbers its events below the old cursor."""
    client = _Scanning(online={"ALPHA"}, holders={"ME": ["ME"]})

    def quiet(_timeout: float) -> list[Event]:
        client.holders["ME"] = ["ME", "ALPHA"]  # ALPHA has the release; no event says so
        return []

    transport = _transport(client, tmp_path)
    transport._subscription = SimpleNamespace(poll=quiet)  # type: ignore[assignment]
    claim = SimpleNamespace(session=SESSION, device="ME")
    started = time.monotonic()
    transport.publish(claim, wait_for=lambda: ["ALPHA"], timeout_s=5.0)  # type: ignore[arg-type]
    assert time.monotonic() - started < 1.0  # not at the last second's polling
