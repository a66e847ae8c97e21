"""Sessions pass through an always-on untrusted (encrypted) Syncthing node it cannot read.

One cluster for the module: trusted ``alpha`` and ``beta`` each peer ONLY with ``vault``, so
whatever beta gets from alpha went through vault. The vault is started outside the ``Cluster``
harness because the harness shares a plain folder on every node, and Syncthing 1.19.2 refuses
to change an existing folder's type to ``receiveencrypted``. The tests run in file order; the
last one stops alpha for good.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.cluster import Cluster, ClusterSpec, NodeSpec, free_ports
from session_roam.engine.node import SyncthingProcess
from session_roam.engine.peers import ensure_peer
from session_roam.engine.stconfig import generate_config, harden_config
from session_roam.engine.untrusted import (
    EncryptionPassword,
    read_password_file,
    serve_encrypted_folder,
    share_encrypted,
)
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.cluster import ClusterNode
    from session_roam.engine.syncthing import SyncthingClient

pytest_plugins = ["tests.support.cluster_fixtures"]
pytestmark = pytest.mark.e2e

SLUG = "-home-user-vaultproj"
PHRASE = "the purple elephant recites Rilke"


@dataclass(frozen=True, slots=True)
class Vaulted:
    cluster: Cluster
    vault: SyncthingProcess
    vault_id: str
    vault_dir: Path
    password: EncryptionPassword

    @property
    def folder(self) -> str:
        return self.cluster.spec.folder_id

    @property
    def vault_client(self) -> SyncthingClient:
        return self.vault.client


def _start_vault(root: Path, binary: str) -> tuple[SyncthingProcess, str, str]:
    """A plain Syncthing instance, hardened for loopback before its first start."""
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


def _connected(client: SyncthingClient, device_id: str) -> bool:
    state = client.connections().get(device_id)
    return state is not None and state.connected


@pytest.fixture(scope="module")
def vaulted(tmp_path_factory: pytest.TempPathFactory, syncthing_bin: str) -> Iterator[Vaulted]:
    root = tmp_path_factory.mktemp("vaulted")
    secret_file = root / "password"
    secret_file.write_text("correct horse battery staple\n", encoding="utf-8")
    secret_file.chmod(0o600)
    password = read_password_file(secret_file)
    spec = ClusterSpec(name="vaulted", nodes=(NodeSpec("alpha", ()), NodeSpec("beta", ())))
    vault, vault_id, vault_listen = _start_vault(root / "vault", syncthing_bin)
    try:
        with Cluster(spec, root / "trusted", binary=syncthing_bin) as cluster:
            vault.wait_ready()
            trusted = [cluster["alpha"], cluster["beta"]]
            vault_dir = root / "vault" / "store"
            vault_dir.mkdir(mode=0o700)
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
            for node in trusted:
                wait_until(
                    partial(_connected, node.client, vault_id),
                    timeout_s=30,
                    what=f"{node.name} connected to vault",
                )
            yield Vaulted(cluster, vault, vault_id, vault_dir, password)
    finally:
        vault.stop()


def _session(name: str) -> str:
    return f"{SLUG}/{name}.jsonl"


def _turn(text: str) -> bytes:
    return ('{"type":"user","message":{"content":"' + text + '"}}\n').encode()


def _write(node: ClusterNode, relative: str, data: bytes, *, append: bool = False) -> Path:
    path = node.projects_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab" if append else "wb") as handle:
        handle.write(data)
    return path


def _has(node: ClusterNode, relative: str, data: bytes) -> bool:
    try:
        return (node.projects_dir / relative).read_bytes() == data
    except FileNotFoundError:  # a receiver replaces files: the path briefly disappears
        return False


def _sha256(node: ClusterNode, relative: str) -> str:
    try:
        return hashlib.sha256((node.projects_dir / relative).read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def _vault_has_alpha_version(vaulted: Vaulted) -> bool:
    completion = vaulted.cluster["alpha"].client.completion(vaulted.folder, vaulted.vault_id)
    return completion.need_items == 0 and completion.need_bytes == 0


def _push_to_vault(vaulted: Vaulted) -> None:
    """Scan alpha (blocking), then wait until vault reports alpha's version of everything."""
    vaulted.cluster["alpha"].client.scan(vaulted.folder)
    wait_until(lambda: _vault_has_alpha_version(vaulted), timeout_s=30, what="vault up to date")


def test_untrusted_session_reaches_beta_through_vault_byte_identical(vaulted: Vaulted) -> None:
    alpha, beta = vaulted.cluster["alpha"], vaulted.cluster["beta"]
    assert alpha.device_id not in {d.device_id for d in beta.client.devices()}
    relative = _session("3d6f1c2a-0000-4000-8000-000000000001")
    data = _turn(f"{PHRASE} ✓") * 40
    _write(alpha, relative, data)
    wait_until(lambda: _has(beta, relative, data), timeout_s=30, what="session on beta")


def test_untrusted_vault_folder_holds_no_plaintext(vaulted: Vaulted) -> None:
    session_id = "3d6f1c2a-0000-4000-8000-000000000002"
    _write(vaulted.cluster["alpha"], _session(session_id), _turn(PHRASE) * 40)
    _push_to_vault(vaulted)
    files = [p for p in vaulted.vault_dir.rglob("*") if p.is_file()]
    stored = [p for p in files if not p.relative_to(vaulted.vault_dir).parts[0].startswith(".st")]
    assert stored, "vault stored nothing, so there was nothing to search"
    needles = [PHRASE, session_id, SLUG.lstrip("-"), vaulted.password.reveal()]
    for path in files:
        blob = path.read_bytes()
        name = str(path.relative_to(vaulted.vault_dir))
        for needle in needles:
            assert needle.encode() not in blob, f"{needle!r} in plain text in {name}"
            assert needle not in name, f"{needle!r} in a file name on vault: {name}"


def test_untrusted_beta_pulls_final_turn_from_vault_after_alpha_stops(vaulted: Vaulted) -> None:
    alpha, beta = vaulted.cluster["alpha"], vaulted.cluster["beta"]
    relative = _session("3d6f1c2a-0000-4000-8000-000000000003")
    _write(alpha, relative, _turn("first turn") * 10)
    wait_until(
        lambda: _has(beta, relative, _turn("first turn") * 10), timeout_s=30, what="base on beta"
    )
    beta.client.pause()
    wait_until(lambda: not _connected(beta.client, vaulted.vault_id), what="beta cut off")
    final = _write(alpha, relative, _turn(f"final turn: {PHRASE}"), append=True).read_bytes()
    _push_to_vault(vaulted)
    assert _has(beta, relative, _turn("first turn") * 10), "beta got the final turn too early"
    assert alpha.process is not None
    alpha.process.stop()
    beta.client.resume()
    wanted = hashlib.sha256(final).hexdigest()
    wait_until(
        lambda: _sha256(beta, relative) == wanted,
        timeout_s=30,
        what="alpha's final bytes on beta",
    )
