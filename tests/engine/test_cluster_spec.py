from __future__ import annotations

from pathlib import Path

import pytest

from session_roam.engine.syncthing.cluster import ClusterSpec, NodeSpec, free_ports
from session_roam.errors import InvalidInput

SPECS = Path(__file__).resolve().parents[2] / "fixtures" / "clusters"


@pytest.mark.parametrize("name", sorted(p.stem for p in SPECS.glob("*.toml")))
def test_cluster_spec_every_fixture_loads(name: str) -> None:
    spec = ClusterSpec.load(SPECS / f"{name}.toml")
    assert spec.name == name
    assert spec.watcher_delay_s == 1


def test_cluster_spec_full_mesh_by_default() -> None:
    spec = ClusterSpec.load(SPECS / "trio.toml")
    assert spec.peers_of("alpha") == ("beta", "gamma")


def test_cluster_spec_chain_peers_are_symmetric() -> None:
    spec = ClusterSpec.load(SPECS / "chain.toml")
    assert spec.peers_of("alpha") == ("beta",)
    assert spec.peers_of("beta") == ("alpha", "gamma")
    assert spec.peers_of("gamma") == ("beta",)


def test_cluster_spec_one_sided_peer_list_pairs_both_ways() -> None:
    spec = ClusterSpec("x", (NodeSpec("a", ("b",)), NodeSpec("b", ()), NodeSpec("c", ())))
    assert spec.peers_of("b") == ("a",)
    assert spec.peers_of("c") == ()


def test_cluster_spec_seeds_inline_text() -> None:
    spec = ClusterSpec.load(SPECS / "pair.toml")
    assert spec.seeds[0].node == "alpha"
    assert spec.seeds[0].text.startswith('{"type":"user"')


def test_cluster_spec_rejects_duplicate_node_names(tmp_path: Path) -> None:
    path = tmp_path / "dup.toml"
    path.write_text('[[nodes]]\nname = "a"\n[[nodes]]\nname = "a"\n')
    with pytest.raises(InvalidInput, match="distinct names"):
        ClusterSpec.load(path)


def test_cluster_spec_rejects_seed_for_unknown_node(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[nodes]]\nname = "a"\n[[seed]]\nnode = "z"\npath = "p"\ntext = "t"\n')
    with pytest.raises(InvalidInput, match="unknown node 'z'"):
        ClusterSpec.load(path)


def test_cluster_spec_unreadable_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read"):
        ClusterSpec.load(tmp_path / "missing.toml")


def test_free_ports_are_distinct() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6
