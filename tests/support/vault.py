"""Two trusted machines and an always-on untrusted ``vault``: three real Syncthing nodes.

``alpha`` and ``beta`` come from the ``Cluster`` harness; ``vault`` is a plain Syncthing started
beside it, because the harness shares a plain folder on every node and Syncthing 1.19.2 refuses
to turn an existing folder into ``receiveencrypted``. Each trusted node shares the folder with
the vault encrypted (``share_encrypted``), so the vault stores and forwards what it cannot read.

``direct=True`` also peers alpha with beta (the always-on setup of docs/always-on.md);
``direct=False`` leaves the vault as the only path between them, so whatever beta gets from
alpha provably went through it. Only the trusted nodes dial the vault (it knows them with a
dynamic address and has no discovery): two nodes dialling each other at once stall the hello.

Machines go off and come back with ``stop``/``start``: a node restarted with the same home keeps
its config, ports, device id and paused devices, as a laptop that wakes up does.
"""

from __future__ import annotations

import contextlib
import time
from functools import partial
from typing import TYPE_CHECKING, Final

from session_roam.engine.syncthing.cluster import (
    Cluster,
    ClusterNode,
    ClusterSpec,
    NodeSpec,
    free_ports,
)
from session_roam.engine.syncthing.config import generate_config, harden_config
from session_roam.engine.syncthing.node import SyncthingProcess
from session_roam.engine.syncthing.peers import ensure_peer
from session_roam.engine.syncthing.untrusted import (
    EncryptionPassword,
    read_password_file,
    serve_encrypted_folder,
    share_encrypted,
)
from tests.support.cluster import discard, discard_cluster, stop_when_started, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.client import SyncthingClient

__all__ = ["VAULT_PASSWORD", "Vaulted", "connected", "running_vaulted", "start_vault"]

#: The folder password of every test cluster (it must never show up on the vault).
VAULT_PASSWORD: Final = "correct horse battery staple"  # noqa: S105 - a test fixture
_CONNECT_S: Final = 30.0
#: A dialer refused during start-up backs off for up to ~20 s; past this, nudge it.
_NUDGE_AFTER_S: Final = 5.0


def _eventually(check: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``check`` for up to ``timeout_s``; unlike ``wait_until``, running out is no failure."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def connected(client: SyncthingClient, device_id: str) -> bool:
    """``client``'s node has a connection to ``device_id`` (a paused one may linger a moment)."""
    state = client.connections().get(device_id)
    return state is not None and state.connected


def _usable(client: SyncthingClient, device_id: str) -> bool:
    """Connected and not paused: files flow both ways."""
    state = client.connections().get(device_id)
    return state is not None and state.connected and not state.paused


def start_vault(root: Path, binary: str) -> tuple[SyncthingProcess, str, str]:
    """A plain Syncthing instance, hardened for loopback before its first start.

    Returns the process (launched, not yet ready), its device id and its listen address.
    """
    gui_port, listen_port = free_ports(2)
    home = root / "syncthing"
    device_id = str(generate_config(binary, home))
    listen = f"tcp://127.0.0.1:{listen_port}"
    harden_config(
        home,
        gui_address=f"127.0.0.1:{gui_port}",
        listen_address=listen,
        reconnection_interval_s=1,
    )
    process = SyncthingProcess(home, binary=binary, env={"HOME": str(root)}).launch()
    return process, device_id, listen


class Vaulted:
    """The running trio; ``cluster["alpha"]``/``["beta"]`` are the trusted machines."""

    def __init__(
        self,
        cluster: Cluster,
        vault: SyncthingProcess,
        vault_id: str,
        vault_dir: Path,
        password: EncryptionPassword,
        *,
        direct: bool,
    ) -> None:
        self.cluster = cluster
        self.vault = vault
        self.vault_id = vault_id
        self.vault_dir = vault_dir
        self.password = password
        self.direct = direct

    def __repr__(self) -> str:
        return f"Vaulted(vault={self.vault_id[:7]}, direct={self.direct})"

    @property
    def folder(self) -> str:
        return self.cluster.spec.folder_id

    @property
    def vault_client(self) -> SyncthingClient:
        return self.vault.client

    @property
    def trusted(self) -> tuple[ClusterNode, ...]:
        return (self.cluster["alpha"], self.cluster["beta"])

    def __getitem__(self, name: str) -> ClusterNode:
        return self.cluster[name]

    def peers_of(self, name: str) -> list[str]:
        """Device ids ``name`` must be connected to when every machine is on."""
        others = [n.device_id for n in self.trusted if n.name != name] if self.direct else []
        return [self.vault_id, *others]

    def running(self, name: str) -> bool:
        return self.cluster[name].process is not None

    # -- what the vault has ---------------------------------------------------------------

    def vault_has_everything_of(self, name: str) -> bool:
        """``name`` itself says the vault holds every file version it has (needs a scan first).

        Asked of the trusted node on purpose: the vault's own view of other devices can look
        out of date (syncthing/syncthing#7533).
        """
        completion = self.cluster[name].client.completion(self.folder, self.vault_id)
        return completion.need_items == 0 and completion.need_bytes == 0

    def push_to_vault(self, name: str, timeout_s: float = 30.0) -> None:
        """Scan ``name`` (blocking), then wait until the vault has its version of everything."""
        self.cluster[name].client.scan(self.folder)
        wait_until(
            partial(self.vault_has_everything_of, name),
            timeout_s=timeout_s,
            what=f"the vault to have everything of {name}",
        )

    # -- machines going off and coming back ------------------------------------------------

    def stop(self, name: str) -> None:
        """Shut ``name``'s Syncthing down, as a machine that is switched off. Idempotent."""
        node = self.cluster[name]
        if node.process is not None:
            stop_when_started(node.process)
            node.process = None

    def start(self, name: str) -> None:
        """Start ``name``'s Syncthing again with the same home (config, ports, pauses kept)."""
        node = self.cluster[name]
        if node.process is not None:
            return
        node.process = SyncthingProcess(
            node.syncthing_home, binary=self.cluster.binary, env={"HOME": str(node.home)}
        ).start()

    def wait_connected(self, name: str, timeout_s: float = _CONNECT_S) -> None:
        """``name`` is connected to every peer that is running (nudging dialers if slow)."""
        client = self.cluster[name].client

        def missing() -> list[str]:
            return [d for d in self._running_peers(name) if not _usable(client, d)]

        if _eventually(lambda: not missing(), _NUDGE_AFTER_S):
            return
        self._nudge(name)
        wait_until(
            lambda: not missing(),
            timeout_s=timeout_s,
            what=f"{name} to connect to {', '.join(d[:7] for d in missing())}",
        )

    def restore(self) -> None:
        """Every machine on, nothing paused, everyone connected: the state tests start from."""
        for node in self.trusted:
            self.start(node.name)
        for node in self.trusted:
            node.client.resume()
        for node in self.trusted:
            self.wait_connected(node.name)

    def _running_peers(self, name: str) -> list[str]:
        running = {n.device_id for n in self.trusted if n.process is not None}
        running.add(self.vault_id)
        return [d for d in self.peers_of(name) if d in running]

    def _nudge(self, name: str) -> None:
        """Pause and resume each device on the side that dials: it re-dials at once."""
        node = self.cluster[name]
        for peer in self._running_peers(name):
            if peer == self.vault_id or self.cluster.nodes.index(node) == 0:
                node.client.pause(peer)
                node.client.resume(peer)
            else:
                dialer = next(n for n in self.trusted if n.device_id == peer)
                dialer.client.pause(node.device_id)
                dialer.client.resume(node.device_id)


@contextlib.contextmanager
def running_vaulted(root: Path, binary: str, *, direct: bool = True) -> Iterator[Vaulted]:
    """Start the trio under ``root``; every node is stopped on exit, even after a failure."""
    secret_file = root / "password"
    secret_file.write_text(f"{VAULT_PASSWORD}\n", encoding="utf-8")
    secret_file.chmod(0o600)
    password = read_password_file(secret_file)
    peers: tuple[str, ...] = ("beta",) if direct else ()
    spec = ClusterSpec(name="vaulted", nodes=(NodeSpec("alpha", peers), NodeSpec("beta", ())))
    vault, vault_id, vault_listen = start_vault(root / "vault", binary)
    try:
        with Cluster(spec, root / "trusted", binary=binary) as cluster:
            vault.wait_ready()
            vault_dir = root / "vault" / "store"
            vault_dir.mkdir(mode=0o700)
            trusted = [cluster["alpha"], cluster["beta"]]
            for node in trusted:  # the vault only accepts; the trusted nodes dial it
                ensure_peer(vault.client, vault_id, node.device_id, name=node.name)
            serve_encrypted_folder(
                vault.client, spec.folder_id, vault_dir, [n.device_id for n in trusted]
            )
            for node in trusted:
                ensure_peer(
                    node.client, node.device_id, vault_id, name="vault", address=vault_listen
                )
                share_encrypted(node.client, spec.folder_id, vault_id, password)
            vaulted = Vaulted(cluster, vault, vault_id, vault_dir, password, direct=direct)
            for node in trusted:
                vaulted.wait_connected(node.name)
            try:
                yield vaulted
            finally:
                discard_cluster(cluster)
    finally:
        discard(vault)
