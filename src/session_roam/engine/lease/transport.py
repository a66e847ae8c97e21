"""The lease transport over a real Syncthing node (``SyncthingClient``).

The barrier (publish, then "every peer has my claim") follows research/syncthing-loopback.md §4:
subscribe to ``RemoteIndexUpdated`` BEFORE the blocking scan (a new event filter does not replay
the past), then treat each event only as a wake-up and confirm with ``/rest/db/file`` that the
peer is in the claim's ``availability``: a peer's index update may be about some other file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.atomic import atomic_write
from session_roam.engine.core.safefs import is_link, refuse_links
from session_roam.engine.lease.claim_files import read_claim_files
from session_roam.engine.lease.engine import LEASES_DIR, Peer
from session_roam.engine.lease.model import Claim, serialize_claim
from session_roam.engine.syncthing.names import cluster_names
from session_roam.errors import (
    HolderOffline,
    InvalidInput,
    PeerUnreachable,
    SyncthingError,
    SyncTimeout,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient
    from session_roam.engine.syncthing.events import EventSubscription
    from session_roam.engine.syncthing.models import FileInfo

__all__ = ["SyncthingTransport", "find_folder_id"]

log = logging.getLogger(__name__)

_EVENTS: Final = ("RemoteIndexUpdated", "DeviceDisconnected")
_POLL_S: Final = 0.01
_MTIME_STEP_NS: Final = 1_000_000
#: A barrier this long after the last asks whether Syncthing was restarted in between.
_IDLE_S: Final = 5.0


def find_folder_id(client: SyncthingClient, root: Path) -> str:
    """The id of the Syncthing folder whose path is ``root`` (Claude's projects folder)."""
    wanted = os.path.realpath(root)
    for folder in client.folders():
        if os.path.realpath(os.path.expanduser(folder.path)) == wanted:
            return folder.id
    raise SyncthingError(
        f"Syncthing does not share {root}, so there is nobody to hold a lease against.",
        hint="Run `roam setup` to share Claude's projects folder with your other machines.",
    )


def _has_it(raw: Mapping[str, Any]) -> set[str]:
    """Devices that hold the global version complete; ``fromTemporary`` ones are still pulling."""
    found = set()
    for item in raw.get("availability") or ():
        if isinstance(item, Mapping) and not item.get("fromTemporary", False):
            found.add(str(item.get("id", "")))
        elif isinstance(item, str):
            found.add(item)
    return found


class SyncthingTransport:
    """One node: its claim files under ``root/.roam/leases`` and its Syncthing REST API."""

    def __init__(
        self,
        client: SyncthingClient,
        root: Path,
        folder_id: str | None = None,
        device_id: str | None = None,
    ) -> None:
        """``device_id``: this node's, when the caller has just checked that the Syncthing
        answering has it (``syncready.sync_here``); else asked (one request less on cr's path)."""
        self.client = client
        self.root = root
        self.folder_id = folder_id or find_folder_id(client, root)
        self._device_id = device_id or client.my_id()
        self._names: dict[str, str] = {}
        self._subscription: EventSubscription | None = None
        self._used = time.monotonic()  # when a barrier last used the subscription
        self._sharing: set[str] | None = None

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"SyncthingTransport({self.client!r}, {self.folder_id!r})"

    @property
    def device_id(self) -> str:
        return self._device_id

    def _name_of(self, device_id: str) -> str:
        """The machine's one display name, as every command shows it (``syncthing.names``)."""
        if not self._names:
            self._names = cluster_names(self.client, self.root)
        return self._names.get(device_id, "")

    def device_name(self) -> str:
        return self._name_of(self._device_id)

    def peer_name(self, device_id: str) -> str:
        return self._name_of(device_id) or device_id[:7]

    def peers(self) -> Sequence[Peer]:
        shared = self.client.folder(self.folder_id).device_ids
        self._sharing = set(shared)
        connections = self.client.connections()
        return [
            Peer(
                device_id=device,
                name=self._name_of(device),
                connected=(c := connections.get(device)) is not None
                and c.connected
                and not c.paused,
            )
            for device in shared
            if device != self._device_id
        ]

    def _folder(self, session: str) -> Path:
        return self.root / LEASES_DIR / session

    def relative_claim(self, session: str, device: str) -> str:
        return (LEASES_DIR / session / f"{device}.json").as_posix()

    def sessions(self) -> list[str]:
        base = self.root / LEASES_DIR
        with contextlib.suppress(FileNotFoundError):
            return sorted(p.name for p in base.iterdir() if p.is_dir() and not is_link(p))
        return []

    def read_claims(self, session: str) -> dict[str, bytes]:
        """Every claim file of ``session`` on disk, none missed while Syncthing replaces one
        (``lease.claim_files``: a claim caught mid-swap is read again, then fails closed)."""
        return read_claim_files(self.root, self._folder(session))

    def write_claim(self, claim: Claim) -> None:
        if claim.device != self._device_id:
            raise InvalidInput("A node may only write its own claim file.")
        folder = self._folder(claim.session)
        path = folder / f"{claim.device}.json"
        refuse_links(self.root, path)  # a planted link must not carry our claim elsewhere
        for directory in (self.root / ".roam", self.root / LEASES_DIR, folder):
            directory.mkdir(mode=0o700, exist_ok=True)
        refuse_links(self.root, path)
        try:
            before = path.stat().st_mtime_ns
        except FileNotFoundError:
            before = 0
        atomic_write(path, serialize_claim(claim), mode=0o600)
        # Syncthing's scan calls a file unchanged when size and mtime are: two versions of a
        # claim often have the same size ("choosing" and "claiming" do), and two writes in one
        # clock tick the same mtime. Then the new claim would never be announced, and the
        # barrier would pass on the old one. Force the mtime forward.
        after = path.stat().st_mtime_ns
        if after <= before:
            stamp = before + _MTIME_STEP_NS
            os.utime(path, ns=(stamp, stamp))

    def publish(
        self,
        claim: Claim,
        *,
        wait_for: Sequence[str] | Callable[[], Sequence[str]],
        timeout_s: float,
        extra: Sequence[str] = (),
        pull: bool = False,
    ) -> None:
        name = self.relative_claim(claim.session, claim.device)
        if callable(wait_for) and self._subscription is None:
            wait_for = wait_for()  # no subscription to wake us yet: whom to wait for decides
        # Subscribed before the scan: events from before a subscription are never replayed.
        subscription = self._events() if callable(wait_for) or wait_for else None
        # One scan for the session file and the claim: both leave in one index update, so a
        # peer that has the claim with its release stamp has been told about those bytes too.
        # (Two calls cost a second update, sent only after Syncthing's fixed 250 ms pause.)
        self.client.scan(self.folder_id, [*extra, name])
        if callable(wait_for):  # asked while the peers already receive it (the release)
            wait_for = wait_for()
        if subscription is None or not wait_for:
            return
        deadline = time.monotonic() + timeout_s
        pending = set(wait_for)
        look = True
        info: FileInfo | None = None
        while True:
            # Confirm with the file's availability, not the event alone: a peer's index update
            # may be about another file. Looked up only when a pending peer sent one.
            if look:
                info = self.client.file_info(self.folder_id, name)
                if info is not None:
                    pending -= _has_it(info.raw)
            if not pending:
                if pull:  # the pull starts from the answer that confirmed our own claim
                    known = {claim.device: info} if info is not None else {}
                    self._pull_claims(claim.session, deadline, timeout_s, known=known)
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                names = ", ".join(self.peer_name(d) for d in sorted(pending))
                raise SyncTimeout(
                    f"{names} did not confirm this machine's lease claim within {timeout_s:g} s."
                )
            look = False
            # The event stream wakes us the moment an index update arrives. Its timeout is in
            # whole seconds, so near the deadline we poll instead, to keep the barrier bounded.
            events = subscription.poll(1.0) if remaining >= 1.0 else subscription.poll(0)
            for event in events:
                device = event.data.get("device", event.data.get("id"))
                if (
                    event.type == "DeviceDisconnected"
                    and device in pending
                    and not self._connected_now(str(device))
                ):
                    raise PeerUnreachable(
                        f"{self.peer_name(str(device))} disconnected while "
                        "confirming this machine's lease claim."
                    )
                look = look or (event.type == "RemoteIndexUpdated" and device in pending)
            # A quiet second: look anyway. A Syncthing restarted meanwhile numbers its events
            # anew; the poll follows it to the new stream, but that stream starts only at our
            # first request to it, so a confirmation that came before is no event here.
            look = look or (not events and remaining >= 1.0)  # (the last second: polled below)
            if remaining < 1.0 and not look:
                time.sleep(_POLL_S)
                look = True

    def _connected_now(self, device: str) -> bool:
        """Whether ``device`` is connected now. A disconnect event may be hours old: a release
        reads the backlog of a subscription opened at the acquisition, and a peer that dropped
        and came back meanwhile is connected, gets the release in its reconnect's index
        exchange, and is worth waiting for (asked only when such an event comes)."""
        return any(p.device_id == device and p.connected for p in self.peers())

    def _events(self) -> EventSubscription:
        """One event subscription for this transport's life: its cursor only moves forward, so
        a later barrier misses nothing and pays no request to open a new one.

        A barrier long after the last (a release, hours after the acquisition) first follows a
        Syncthing restarted meanwhile to its new event stream (``follow_restart``, one request):
        its events are numbered from 1 again, and the old cursor would wake for none of them.
        The events only wake the wait (availability is the proof), so this changes no answer,
        only how soon it comes; a wait that a restart interrupts follows it the same way.
        """
        if self._subscription is None:
            self._subscription = self.client.subscribe(_EVENTS)
        elif time.monotonic() - self._used > _IDLE_S and self._subscription.follow_restart():
            log.info("Syncthing was restarted since the last lease barrier; following its events")
        self._used = time.monotonic()
        return self._subscription

    def _behind(
        self, session: str, sharing: set[str], known: Mapping[str, FileInfo] | None = None
    ) -> dict[str, set[str]]:
        """Claim files of ``session`` whose announced (global) version this node lacks.

        Maps the claim's device to the devices that hold that version. ``sharing``: the devices
        the folder is shared with (a claim of any of them may be on its way). ``known``: answers
        of ``/rest/db/file`` for some claims, just received, so not asked again.
        """
        behind: dict[str, set[str]] = {}
        for device in sorted(sharing | set(self.read_claims(session))):
            info = (known or {}).get(device) or self.client.file_info(
                self.folder_id, self.relative_claim(session, device)
            )
            if info is None:
                continue
            glob = info.raw.get("global") or {}
            local = info.raw.get("local") or {}
            if glob.get("deleted") or not glob.get("version"):
                continue
            if glob.get("version") != local.get("version"):
                behind[device] = set(info.availability)
        return behind

    def _pull_claims(
        self,
        session: str,
        deadline: float,
        timeout_s: float,
        *,
        known: Mapping[str, FileInfo] | None = None,
    ) -> None:
        """Wait until this node has every claim version its peers announced (the pull barrier).

        A peer sends its index updates in order over one connection, so once it has confirmed
        our claim we have been told of every claim it had before; a read after this sees them.
        A version that only machines which are off hold can never arrive: that machine's state
        is unknown, so we refuse at once (HolderOffline) instead of waiting for the deadline.
        """
        # The devices the quorum just read (one request less on the hot path), else ask.
        sharing = self._sharing or set(self.client.folder(self.folder_id).device_ids)
        while behind := self._behind(session, sharing, known):
            known = None  # asked afresh from the second look on
            online = {d for d, c in self.client.connections().items() if c.connected}
            for device, holders in behind.items():
                if not holders & online:
                    name = self.peer_name(device)
                    raise HolderOffline(
                        f"The newest lease claim of {name} on session {session} is only on "
                        "machines that are off, so whether it holds the session cannot be known.",
                        hint=f"Bring {name} online and try again, or take the session over with "
                        f"`roam cr --force {session}` (recorded).",
                    )
            if time.monotonic() > deadline:
                names = ", ".join(self.peer_name(d) for d in behind)
                raise SyncTimeout(
                    f"This machine did not receive the lease claims of {names} within "
                    f"{timeout_s:g} s."
                )
            time.sleep(_POLL_S)
