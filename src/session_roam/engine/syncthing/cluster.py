"""Declarative clusters of real Syncthing nodes on 127.0.0.1, for tests, demos and CI.

A cluster spec (TOML, see ``fixtures/clusters/``) names nodes, who peers with whom, and files to
seed. ``Cluster`` turns it into running nodes in a temp directory: generate each config, harden
it for loopback before the first start, start all nodes in parallel, pair devices BEFORE
sharing the folder, and always stop every process on exit - including when a test fails.
"""

from __future__ import annotations

import contextlib
import socket
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import tenacity

from session_roam.engine.core.atomic import make_private_dirs
from session_roam.engine.syncthing.config import generate_config, harden_config, read_config
from session_roam.engine.syncthing.folder import (
    DEFAULT_FOLDER_ID,
    folder_body,
    protect_folder_marker,
)
from session_roam.engine.syncthing.ignore import install_stignore
from session_roam.engine.syncthing.node import SyncthingProcess, find_syncthing_binary
from session_roam.errors import InvalidInput, SetupError, SyncthingError, SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = ["Cluster", "ClusterNode", "ClusterSpec", "NodeSpec", "SeedFile", "free_ports"]

_CONNECT_TIMEOUT_S: Final = 30.0
#: Loopback peers normally connect in well under a second; past this, nudge the dialers.
_FIRST_CONNECT_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class NodeSpec:
    name: str
    #: Names of the nodes this one pairs with; ``None`` means every other node.
    peers: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SeedFile:
    """A file placed in a node's projects dir before the folder is shared."""

    node: str
    path: str
    text: str


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    name: str
    nodes: tuple[NodeSpec, ...]
    folder_id: str = DEFAULT_FOLDER_ID
    watcher_delay_s: float = 1
    reconnection_interval_s: int = 1
    #: Install roam's ``.stignore`` on every node before the folder is shared.
    stignore: bool = True
    seeds: tuple[SeedFile, ...] = ()

    @classmethod
    def load(cls, path: Path) -> ClusterSpec:
        """Read a spec; ``source`` paths of seeds are relative to the spec file."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput(f"The cluster spec {path} cannot be read ({exc}).") from exc
        return cls.from_dict(data, name=path.stem, base=path.parent)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, name: str, base: Path) -> ClusterSpec:
        nodes = tuple(
            NodeSpec(str(n["name"]), tuple(n["peers"]) if "peers" in n else None)
            for n in data.get("nodes", [])
        )
        names = [n.name for n in nodes]
        if len(nodes) < 1 or len(set(names)) != len(names):
            raise InvalidInput(f"The cluster spec {name!r} needs nodes with distinct names.")
        seeds = []
        for seed in data.get("seed", []):
            text = seed.get("text")
            if text is None:
                source = base / str(seed.get("source", ""))
                try:
                    text = source.read_text(encoding="utf-8")
                except OSError as exc:
                    raise InvalidInput(
                        f"The cluster spec {name!r} seeds from {source}: {exc}."
                    ) from exc
            if seed["node"] not in names:
                raise InvalidInput(
                    f"The cluster spec {name!r} seeds unknown node {seed['node']!r}."
                )
            seeds.append(SeedFile(str(seed["node"]), str(seed["path"]), str(text)))
        return cls(
            name=str(data.get("name", name)),
            nodes=nodes,
            folder_id=str(data.get("folder_id", DEFAULT_FOLDER_ID)),
            watcher_delay_s=float(data.get("watcher_delay_s", 1)),
            reconnection_interval_s=int(data.get("reconnection_interval_s", 1)),
            stignore=bool(data.get("stignore", True)),
            seeds=tuple(seeds),
        )

    def peers_of(self, name: str) -> tuple[str, ...]:
        """Pairing is symmetric: A lists B if either names the other (or neither names anyone)."""
        mine = next(n for n in self.nodes if n.name == name)
        wanted = set(mine.peers) if mine.peers is not None else {n.name for n in self.nodes}
        wanted |= {n.name for n in self.nodes if n.peers is not None and name in n.peers}
        wanted.discard(name)
        return tuple(n.name for n in self.nodes if n.name in wanted)


@dataclass(slots=True)
class ClusterNode:
    """One running node. ``home`` is the machine's HOME; Claude's projects live below it."""

    name: str
    home: Path
    syncthing_home: Path
    gui_port: int
    listen_port: int
    device_id: str = ""
    process: SyncthingProcess | None = field(default=None, repr=False)

    @property
    def claude_dir(self) -> Path:
        return self.home / ".claude"

    @property
    def projects_dir(self) -> Path:
        return self.claude_dir / "projects"

    @property
    def gui_url(self) -> str:
        return f"http://127.0.0.1:{self.gui_port}"

    @property
    def listen_address(self) -> str:
        return f"tcp://127.0.0.1:{self.listen_port}"

    @property
    def api_key(self) -> str:
        return read_config(self.syncthing_home).api_key

    @property
    def client(self) -> SyncthingClient:
        if self.process is None:
            raise SyncthingError(f"Cluster node {self.name} is not running.")
        return self.process.client


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (all held open until every one is chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]


class Cluster:
    """``with Cluster(spec, tmp_path) as cluster: cluster["alpha"].projects_dir ...``"""

    def __init__(self, spec: ClusterSpec, root: Path, *, binary: str | None = None) -> None:
        self.spec = spec
        self.root = root
        self.binary = binary or find_syncthing_binary()
        ports = free_ports(2 * len(spec.nodes))
        self.nodes = [
            ClusterNode(
                name=n.name,
                home=root / n.name / "home",
                syncthing_home=root / n.name / "syncthing",
                gui_port=ports[2 * i],
                listen_port=ports[2 * i + 1],
            )
            for i, n in enumerate(spec.nodes)
        ]

    def __getitem__(self, name: str) -> ClusterNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _each(self, action: Callable[[ClusterNode], object]) -> None:
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            for future in [pool.submit(action, node) for node in self.nodes]:
                future.result()

    def start(self) -> None:
        for node in self.nodes:
            make_private_dirs(node.projects_dir)
            protect_folder_marker(node.projects_dir)
            if self.spec.stignore:
                install_stignore(node.projects_dir)
            node.device_id = str(generate_config(self.binary, node.syncthing_home))
            harden_config(
                node.syncthing_home,
                gui_address=f"127.0.0.1:{node.gui_port}",
                listen_address=node.listen_address,
                reconnection_interval_s=self.spec.reconnection_interval_s,
            )
        for seed in self.spec.seeds:
            target = self[seed.node].projects_dir / seed.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(seed.text, encoding="utf-8")
        for node in self.nodes:
            node.process = SyncthingProcess(
                node.syncthing_home, binary=self.binary, env={"HOME": str(node.home)}
            ).launch()
        self._each(lambda node: _process(node).wait_ready())
        # Devices first, everywhere, with no address to dial: a node that dials a peer which
        # does not know it yet is rejected and backs off. Addresses go in only once every node
        # knows every peer, and only on the earlier node of each pair: Syncthing dials from its
        # listen port, so two nodes dialling each other at once make one TCP simultaneous open
        # in which both act as TLS client, and the hello hangs for 20 s. Folders go last (a
        # folder naming a device that is not configured yet silently drops it).
        self._each(self._add_peers)
        self._each(self._dial_peers)
        self._each(self._share_folder)
        try:
            self.wait_connected(_FIRST_CONNECT_S)
        except SyncTimeout:
            # A dial refused during start-up (seen on a loaded machine) backs off for up to
            # ~20 s; pausing and resuming the device on the dialling side re-dials at once.
            self._redial()
            self.wait_connected()

    def _redial(self) -> None:
        for node in self.nodes:
            connections = node.client.connections()
            for peer in self._peers(node):
                state = connections.get(peer.device_id)
                dials = self.nodes.index(node) < self.nodes.index(peer)
                if dials and (state is None or not state.connected):
                    node.client.pause(peer.device_id)
                    node.client.resume(peer.device_id)

    def _peers(self, node: ClusterNode) -> list[ClusterNode]:
        return [self[p] for p in self.spec.peers_of(node.name)]

    def _add_peers(self, node: ClusterNode) -> None:
        client = node.client
        client.patch_device(node.device_id, {"name": node.name})
        for peer in self._peers(node):
            client.add_device(peer.device_id, name=peer.name, addresses=["dynamic"])

    def _dial_peers(self, node: ClusterNode) -> None:
        for peer in self._peers(node):
            if self.nodes.index(node) < self.nodes.index(peer):
                node.client.patch_device(peer.device_id, {"addresses": [peer.listen_address]})

    def _share_folder(self, node: ClusterNode) -> None:
        client = node.client
        devices = [node.device_id, *(p.device_id for p in self._peers(node))]
        client.add_folder(
            folder_body(
                self.spec.folder_id,
                str(node.projects_dir),
                devices,
                overrides={"fsWatcherDelayS": _number(self.spec.watcher_delay_s)},
            )
        )
        shared = set(client.folder(self.spec.folder_id).device_ids)
        if shared != set(devices):
            raise SetupError(f"Node {node.name} dropped peers from folder {self.spec.folder_id!r}.")

    def wait_connected(self, timeout_s: float = _CONNECT_TIMEOUT_S) -> None:
        """Every node sees each of its peers connected (redial waits reconnectionIntervalS)."""

        def missing() -> list[str]:
            gaps = []
            for node in self.nodes:
                connections = node.client.connections()
                for peer in self.spec.peers_of(node.name):
                    state = connections.get(self[peer].device_id)
                    if state is None or not state.connected:
                        gaps.append(f"{node.name}->{peer}")
            return gaps

        self._wait(missing, timeout_s, "connected")

    def pause(self, name: str) -> None:
        """Cut one node off from all its peers (persisted by Syncthing until ``resume``)."""
        node = self[name]
        node.client.pause()

        def still_connected() -> list[str]:
            return [p.name for p in self._peers(node) if node.device_id in _connected(p)]

        self._wait(still_connected, 10.0, f"cut off ({name})")

    def resume(self, name: str, timeout_s: float = _CONNECT_TIMEOUT_S) -> None:
        """Reconnect one node. A dialer that was refused backs off for up to ~20 s, so each peer
        that dials this node is nudged (pause + resume of this device re-dials at once)."""
        node = self[name]
        node.client.resume()
        for peer in self._peers(node):
            if self.nodes.index(peer) < self.nodes.index(node):
                peer.client.pause(node.device_id)
                peer.client.resume(node.device_id)
        self.wait_connected(timeout_s)

    def wait_in_sync(self, timeout_s: float = 30.0) -> None:
        """Scan every node, then wait until each node's peers need nothing from it."""
        folder = self.spec.folder_id
        for node in self.nodes:
            node.client.scan(folder)

        def behind() -> list[str]:
            # completion alone reads 100 for a peer whose index has not arrived yet, so also
            # require every node to agree on the global state and need nothing locally
            gaps = []
            globals_seen = set()
            for node in self.nodes:
                status = node.client.folder_status(folder)
                globals_seen.add((status.raw.get("globalFiles"), status.raw.get("globalBytes")))
                if status.state != "idle" or status.need_items or status.need_bytes:
                    gaps.append(f"{node.name} {status.state or 'busy'}")
                for peer in self.spec.peers_of(node.name):
                    if not node.client.completion(folder, self[peer].device_id).in_sync:
                        gaps.append(f"{peer} behind {node.name}")
            if len(globals_seen) > 1:
                gaps.append("nodes disagree on the folder's contents")
            return gaps

        self._wait(behind, timeout_s, "in sync")

    def _wait(self, gaps: Callable[[], Sequence[str]], timeout_s: float, what: str) -> None:
        last = tenacity.Retrying(
            retry=tenacity.retry_if_result(bool),
            stop=tenacity.stop_after_delay(timeout_s),
            wait=tenacity.wait_fixed(0.1),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else ["?"],
        )(gaps)
        if last:
            raise SyncTimeout(
                f"Cluster {self.spec.name!r} was not {what} within {timeout_s:g} s "
                f"({', '.join(last)})."
            )

    def stop(self) -> None:
        """Stop every node that was started; never raises for a node already gone."""
        running = [n for n in self.nodes if n.process is not None]
        if running:
            with ThreadPoolExecutor(max_workers=len(running)) as pool:
                list(pool.map(lambda n: _process(n).stop(), running))

    def files(self, name: str) -> Iterator[Path]:
        """Every regular file in a node's projects dir, Syncthing's own markers excluded."""
        root = self[name].projects_dir
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.relative_to(root).parts[0].startswith(".st"):
                yield path


def _connected(node: ClusterNode) -> set[str]:
    return {d for d, c in node.client.connections().items() if c.connected}


def _number(value: float) -> float | int:
    """1.x declares fsWatcherDelayS an int and rejects ``1.0``; 2.x accepts fractions."""
    return int(value) if value == int(value) else value


def _process(node: ClusterNode) -> SyncthingProcess:
    if node.process is None:
        raise SyncthingError(f"Cluster node {node.name} is not running.")
    return node.process
