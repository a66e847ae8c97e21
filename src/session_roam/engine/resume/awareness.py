"""Does this machine know what the cluster has? Asked before roam chooses from what is here.

A machine that just woke lists its own files before its Syncthing has heard from anybody: "the
newest session of this directory" can then be an old one, and "no session here" can be wrong.
So before ``roam cr`` chooses (and before ``ls``/``cs``/``status`` present a list as whole),
roam checks, per peer sharing the folder, what Syncthing 1.19.2 shows (measured on real nodes):

- *connected*: ``/rest/system/connections`` ``connected`` and ``startedAt`` (whole seconds).
- *off*: ``/rest/system/status`` ``lastDialStatus`` holds each address dialled since Syncthing
  started, with its error; a refused dial shows up about 0.5 s after start. A peer whose every
  address failed is unreachable for now and is not waited for.
- *its index has arrived*: no REST field says so, and a peer with nothing new since the last
  connection sends no index message at all (no ``RemoteIndexUpdated``). So roam asks: it
  rewrites this machine's node file (``.roam/nodes/<id>.json``, ``engine.nodeinfo``) and waits
  until the peer lists that version as available. A peer sends its index over one connection,
  in order, so its acknowledgement of a file written after the connection started comes after
  everything it had announced before: its index as of then has arrived. An untrusted
  (encrypted) node acknowledges too (it announces the encrypted copy). The acknowledgement
  stays in Syncthing's database, so later runs see it (the file's version newer than the
  connection, the peer in its availability) and skip the round trip for ten minutes: in a
  connected cluster the check is six local REST reads.
- *the bytes*: files in scope that the index announces and a connected peer can provide are
  waited for (``/rest/db/need``), so that the choice is made on them; the exact bytes of the
  chosen session are then waited for as before (the release stamp).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.peer_schema import load_state, read_state_bytes
from session_roam.engine.core.safefs import LinkRefused
from session_roam.engine.resume.awareness_model import (
    AWAITING_INDEX,
    CONNECTING,
    INDEXED,
    PAUSED,
    UNREACHABLE,
    Awareness,
    PeerView,
    scope_for,
)
from session_roam.engine.syncthing.names import machine_names, published_names
from session_roam.engine.syncthing.nodeinfo import (
    NODES_DIR,
    NodeInfo,
    claude_version,
    info_path,
    publish,
)
from session_roam.errors import RoamError, SyncthingError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from session_roam.engine.syncthing.client import SyncthingClient
    from session_roam.engine.syncthing.models import Connection, DeviceConfig, FileInfo

__all__ = [
    "AWAITING_INDEX",
    "CONNECTING",
    "INDEXED",
    "LIST_WAIT_S",
    "PAUSED",
    "UNREACHABLE",
    "Awareness",
    "PeerView",
    "await_cluster",
    "cluster_state",
    "observe",
    "probe_name",
    "scope_for",
]

log = logging.getLogger(__name__)


_POLL_S: Final = 0.02
#: How long ``ls``, ``cs`` and ``status`` wait for the peers' index before showing what is here.
LIST_WAIT_S: Final = 3.0
#: A peer with only a ``dynamic`` address is found by discovery or dials in; Syncthing looks
#: it up at start, so it is waited for this long after Syncthing started, and no longer.
_DYNAMIC_GRACE_S: Final = 2.0
#: Syncthing dials every peer at start. A peer still without a connection this long after (its
#: dial hanging, as to a host that is off without refusing, or answered but not completed) is
#: taken as unreachable for now: waiting longer would hold every wake up to --timeout.
_DIAL_GRACE_S: Final = 10.0
#: How long a peer's acknowledgement vouches for its index (see ``_acknowledged``).
_ACK_FRESH_S: Final = 600.0
_NEED_LIMIT: Final = 1000
#: Above this many files in scope, each is not asked about: they all count as arriving.
_CHECK_LIMIT: Final = 50
_FRACTION_RE: Final = re.compile(r"(\.\d{6})\d+")


def probe_name(device_id: str) -> str:
    """The node file, relative to the folder: what a peer acknowledges to prove its index."""
    return (NODES_DIR / f"{device_id}.json").as_posix()


def _when(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 time from Syncthing (ns cut to µs); None for its
    zero time or anything unreadable."""
    if not text or text.startswith("0001-"):
        return None
    try:
        return dt.datetime.fromisoformat(_FRACTION_RE.sub(r"\1", text)).timestamp()
    except ValueError:
        return None


def _acknowledged(
    probe: FileInfo | None, connection: Connection, vouched: Mapping[str, str]
) -> bool:
    """The peer announced this node's file at a version written during the current connection.

    ``startedAt`` has whole seconds, so a version counts when written a second after it; or
    when this process wrote it after seeing that very connection (``vouched``). An older
    acknowledgement than ``_ACK_FRESH_S`` is asked for again: a laptop that slept keeps its
    Syncthing running, and its connections can look alive for minutes after it wakes.
    """
    if probe is None or connection.device_id not in probe.availability:
        return False
    glob = probe.raw.get("global") or {}
    local = probe.raw.get("local") or {}
    if not glob.get("version") or glob.get("version") != local.get("version"):
        return False
    if vouched.get(connection.device_id) == connection.started_at:
        return True
    written, started = _when(str(glob.get("modified", ""))), _when(connection.started_at)
    if written is None or started is None or written < started + 1.0:
        return False
    return time.time() - written < _ACK_FRESH_S


def _dial_state(
    device: DeviceConfig,
    name: str,
    dials: Mapping[str, Any],
    uptime_s: float,
    discovery: Callable[[], bool],
) -> PeerView:
    """A peer that is not connected: still being dialled, or unreachable for now."""
    addresses = [a for a in device.addresses if a != "dynamic"]
    if not addresses:
        if uptime_s < _DYNAMIC_GRACE_S and discovery():
            return PeerView(device.device_id, name, CONNECTING, "looking it up")
        return PeerView(
            device.device_id, name, UNREACHABLE, "not connected; no address to dial from here"
        )
    errors: list[str] = []
    for address in addresses:
        entry = dials.get(address) or next(
            (v for k, v in dials.items() if k.startswith(address)), None
        )
        if not isinstance(entry, dict):
            if uptime_s < _DIAL_GRACE_S:
                return PeerView(device.device_id, name, CONNECTING, "being dialled")
            errors.append("not answering")
        elif not entry.get("error"):
            if uptime_s < _DIAL_GRACE_S:
                return PeerView(device.device_id, name, CONNECTING, "dialled, not connected yet")
            errors.append("answered, but did not connect")
        else:
            errors.append(str(entry["error"]).rsplit(": ", 1)[-1])
    return PeerView(device.device_id, name, UNREACHABLE, errors[0])


@dataclass(frozen=True, slots=True)
class _Facts:
    me: str
    name: str
    folder_devices: tuple[str, ...]
    connections: Mapping[str, Connection]
    probe: FileInfo | None


def _look(
    client: SyncthingClient,
    folder_id: str,
    vouched: Mapping[str, str],
    scope: Callable[[str], bool] | None,
    root: Path | None = None,
) -> tuple[Awareness, _Facts]:
    status = client.system_status()
    me = status.my_id
    shared = client.folder(folder_id).device_ids
    peers_ids = [d for d in shared if d != me]
    devices = {d.device_id: d for d in client.devices()}
    # one name per machine, as every command shows it (node files read when root is known)
    names = machine_names({d: v.name for d, v in devices.items()}, published_names(root))
    connections = client.connections()
    connected = [d for d in peers_ids if (c := connections.get(d)) and c.connected]
    probe = client.file_info(folder_id, probe_name(me)) if connected else None
    dials = status.raw.get("lastDialStatus") or {}

    def discovery() -> bool:
        """Whether discovery may yet find a peer that has only a ``dynamic`` address."""
        options = client.options()
        return bool(options.get("globalAnnounceEnabled") or options.get("localAnnounceEnabled"))

    views = []
    for device_id in peers_ids:
        device = devices.get(device_id)
        name = names.get(device_id, "")
        connection = connections.get(device_id)
        if (device and device.paused) or (connection and connection.paused):
            views.append(PeerView(device_id, name, PAUSED, "paused"))
        elif connection is not None and connection.connected:
            if _acknowledged(probe, connection, vouched):
                views.append(PeerView(device_id, name, INDEXED))
            else:
                views.append(PeerView(device_id, name, AWAITING_INDEX, "its index is arriving"))
        elif device is not None:
            views.append(_dial_state(device, name, dials, float(status.uptime_s), discovery))
        else:
            views.append(PeerView(device_id, name, UNREACHABLE, "not a configured device"))
    seen = Awareness(tuple(views))
    if scope is not None and seen.settled and not seen.isolated:
        online = {p.device_id for p in seen.indexed}
        seen = Awareness(seen.peers, _arriving(client, folder_id, scope, online))
    own = devices.get(me)
    facts = _Facts(me, own.name if own else "", shared, connections, probe)
    return seen, facts


def _arriving(
    client: SyncthingClient, folder_id: str, scope: Callable[[str], bool], online: set[str]
) -> tuple[str, ...]:
    status = client.folder_status(folder_id)
    if not status.need_items + status.need_deletes:
        return ()
    names = [n for n in client.needed_names(folder_id, limit=_NEED_LIMIT) if scope(n)]
    if len(names) > _CHECK_LIMIT:
        return tuple(names)
    found = []
    for name in names:
        info = client.file_info(folder_id, name)
        if info is not None and online.intersection(info.availability):
            found.append(name)
    return tuple(found)


def observe(
    client: SyncthingClient, folder_id: str, *, scope: Callable[[str], bool] | None = None
) -> Awareness:
    """One look, no writes and no waiting: what this machine knows of each peer right now."""
    return _look(client, folder_id, {}, scope)[0]


def _republish(client: SyncthingClient, folder_id: str, root: Path, facts: _Facts) -> None:
    """Rewrite this node's file (its clock sample refreshed, the rest kept) and announce it."""
    path = info_path(root, facts.me)
    try:
        old: NodeInfo | None = NodeInfo.from_json(load_state(read_state_bytes(path, root)))
    except (OSError, ValueError):
        old = None
    publish(
        root,
        device_id=facts.me,
        name=facts.name or (old.name if old else ""),
        syncthing_version=old.syncthing_version if old else str(client.version()),
        claude=old.claude_version if old else claude_version(),
        folder_devices=facts.folder_devices,
        # kept: without it peers' verify says this roam does not report its deletion policy
        policy=(old.ignore_delete, old.cleanup_days) if old and old.policy_known else None,
    )
    client.scan(folder_id, [probe_name(facts.me)])


def await_cluster(
    client: SyncthingClient,
    folder_id: str,
    root: Path,
    *,
    scope: Callable[[str], bool] | None,
    timeout_s: float,
    on_wait: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Awareness:
    """Wait, up to ``timeout_s``, until this machine knows the cluster's state of the folder.

    Returns as soon as the answer is ``complete`` (every reachable peer's index here, what it
    announced in ``scope`` arrived) or ``isolated`` (no peer can be reached and none is still
    being tried); otherwise what was known at the deadline. Costs a handful of local REST reads
    when the cluster is connected and in sync; a node-file round trip per fresh connection.
    """
    deadline = clock() + timeout_s
    vouched: dict[str, str] = {}
    while True:
        seen, facts = _look(client, folder_id, vouched, scope, root)
        if seen.complete or seen.isolated:
            return seen
        fresh = {
            p.device_id: facts.connections[p.device_id].started_at
            for p in seen.peers
            if p.state == AWAITING_INDEX
            and vouched.get(p.device_id) != facts.connections[p.device_id].started_at
        }
        if fresh:
            # Vouch for the connections seen *before* writing: the write comes after them.
            vouched.update(fresh)
            try:
                _republish(client, folder_id, root, facts)
                continue
            except LinkRefused as exc:
                # A peer planted a link at our node file: asking again cannot help, and a
                # wake-up nicety must not stop ls, cs or cr. `roam verify` lists the link.
                log.warning("not announcing this node's file: %s", exc.message)
            except SyncthingError as exc:
                if type(exc) is not SyncthingError:  # unreachable, key refused: a verdict
                    raise
                # A scan can fail for a moment right after start ("folder marker missing").
                log.info("announcing this node's file failed (%s); trying again", exc.message)
                for device in fresh:
                    vouched.pop(device, None)
        on_wait(seen.waiting_for())
        if clock() >= deadline:
            log.info("cluster state not known after %g s: %s", timeout_s, seen.missing())
            return seen
        sleep(_POLL_S)


def cluster_state(
    claude_dir: Path | None, project_dir: Path | None, *, wait_s: float = LIST_WAIT_S
) -> Awareness | None:
    """For ``ls`` and ``cs``: the cluster's state, waited for briefly; None without Syncthing.

    ``project_dir``: the files a list of this directory depends on (None: every session file).
    """
    from session_roam.engine.lease.setup import open_engine
    from session_roam.engine.lease.transport import SyncthingTransport

    try:
        engine = open_engine(claude_dir)
    except RoamError as exc:
        log.info("no cluster state: %s", exc)
        return None
    with engine:
        transport = engine.transport
        if not isinstance(transport, SyncthingTransport):  # pragma: no cover - always real here
            return None
        scope = scope_for(None, project_dir) if project_dir else scope_for("*", Path())
        try:
            return await_cluster(
                transport.client,
                transport.folder_id,
                transport.root,
                scope=scope,
                timeout_s=wait_s,
                on_wait=lambda _what: None,
            )
        except RoamError as exc:
            log.info("no cluster state: %s", exc)
            return None
