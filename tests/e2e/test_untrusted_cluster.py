"""Sessions pass through an always-on untrusted (encrypted) Syncthing node it cannot read.

One cluster for the module (``tests.support.vault``): trusted ``alpha`` and ``beta`` each peer
ONLY with ``vault``, so whatever beta gets from alpha went through vault. The tests run in file
order; the last one stops alpha for good.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest

from tests.support.cluster import wait_until
from tests.support.vault import Vaulted, connected, running_vaulted

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import ClusterNode

pytestmark = pytest.mark.e2e

SLUG = "-home-user-vaultproj"
PHRASE = "the purple elephant recites Rilke"


@pytest.fixture(scope="module")
def vaulted(tmp_path_factory: pytest.TempPathFactory, syncthing_bin: str) -> Iterator[Vaulted]:
    """alpha and beta peer only with the vault: beta can get alpha's files from nowhere else."""
    with running_vaulted(tmp_path_factory.mktemp("vaulted"), syncthing_bin, direct=False) as trio:
        yield trio


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
    vaulted.push_to_vault("alpha")
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
    wait_until(lambda: not connected(beta.client, vaulted.vault_id), what="beta cut off")
    final = _write(alpha, relative, _turn(f"final turn: {PHRASE}"), append=True).read_bytes()
    vaulted.push_to_vault("alpha")
    assert _has(beta, relative, _turn("first turn") * 10), "beta got the final turn too early"
    vaulted.stop("alpha")
    beta.client.resume()
    wanted = hashlib.sha256(final).hexdigest()
    wait_until(
        lambda: _sha256(beta, relative) == wanted,
        timeout_s=30,
        what="alpha's final bytes on beta",
    )
