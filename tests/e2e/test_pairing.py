"""Pairing as people do it, on two real Syncthing nodes made by `roam setup` (127.0.0.1 only).

Machine b runs `roam setup --device-id A --address ...` with a's ID; a, which never named b,
must say who is asking and the one command that accepts it; once accepted, both are paired,
name each other the same way everywhere, and `roam verify` exits 0 on both.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.cluster import discard_pid, wait_until
from tests.support.machine import Machine, new_machine, private_env
from tests.support.schemas import check_schema
from tests.support.syncthing_bin import SYNCTHING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from typer.testing import Result

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(SYNCTHING is None, reason="syncthing is not installed"),
]


def _json(result: Result) -> dict[str, Any]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict), result.output
    return data


def _verify(made: Machine) -> Result:
    return made.roam("--json", "verify", "--syncthing-home", str(made.syncthing_home))


@pytest.fixture
def knocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Machine, Machine]]:
    """a set up alone; b set up naming a (so b knocks on a); a has not accepted yet."""
    for name, value in private_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    a, b = new_machine(tmp_path / "a"), new_machine(tmp_path / "b")
    try:
        assert a.setup().exit_code == 0
        id_a = _json(a.setup(before=("--json",)))["device_id"]
        assert b.setup("--device-id", id_a, "--address", a.listen).exit_code == 0
        yield a, b
    finally:
        discard_pid(a.syncthing_home)
        discard_pid(b.syncthing_home)


def _id(made: Machine) -> str:
    with made.client() as client:
        return client.my_id()


def _pending_on(made: Machine) -> list[dict[str, Any]]:
    found = _json(made.roam("--json", "status"))["pending_devices"]
    assert isinstance(found, list)
    return found


def test_setup_prints_the_address_syncthing_really_listens_on(
    knocked: tuple[Machine, Machine],
) -> None:
    a, _b = knocked
    data = _json(a.setup(before=("--json",)))
    assert data["next_step"] == f"roam setup --device-id {data['device_id']} --address {a.listen}"
    assert data["pairing"]["listen_addresses"] == [a.listen]


def test_status_on_the_other_side_names_the_machine_asking_and_the_accept_command(
    knocked: tuple[Machine, Machine],
) -> None:
    a, b = knocked
    id_b = _id(b)
    wait_until(lambda: bool(_pending_on(a)), timeout_s=30, what="b to knock on a")
    (knock,) = _pending_on(a)
    check_schema(_json(a.roam("--json", "status")), "roam.status-1")
    check_schema(_json(a.roam("--json", "pair")), "roam.pair-1")
    check_schema(_json(a.setup(before=("--json",))), "roam.setup-1")
    assert knock["device_id"] == id_b
    assert knock["accept"] == f"roam peers accept {id_b}"
    assert knock["address"].startswith("127.0.0.1:")
    human = a.roam("status")
    assert f"{id_b[:7]} ('" in human.output
    assert f"to accept: roam peers accept {id_b}" in human.output


def test_verify_on_the_other_side_names_the_machine_asking_and_still_exits_0(
    knocked: tuple[Machine, Machine],
) -> None:
    a, b = knocked
    id_b = _id(b)
    wait_until(lambda: bool(_pending_on(a)), timeout_s=30, what="b to knock on a")
    result = _verify(a)
    assert result.exit_code == 0, result.output
    fixes = [f["fix"] for f in _json(result)["findings"] if f["dimension"] == "peers"]
    assert f"roam peers accept {id_b}" in fixes


def test_accepting_pairs_both_and_verify_exits_0_on_both(knocked: tuple[Machine, Machine]) -> None:
    a, b = knocked
    id_b = _id(b)
    wait_until(lambda: bool(_pending_on(a)), timeout_s=30, what="b to knock on a")
    accepted = a.peers("accept", id_b)
    assert accepted.exit_code == 0, accepted.output
    assert "added" in accepted.output
    _assert_both_verify_clean(a, b)
    assert _pending_on(a) == []


def test_setup_on_both_sides_makes_a_cluster_whose_verify_exits_0_on_both(
    knocked: tuple[Machine, Machine],
) -> None:
    a, b = knocked  # b named a; now a names b, as the README says to
    assert a.setup("--device-id", _id(b), "--address", b.listen).exit_code == 0
    _assert_both_verify_clean(a, b)


def _assert_both_verify_clean(a: Machine, b: Machine) -> None:
    """Once connected and each side's node file (published by setup) is on the other, verify
    finds nothing to warn about or fail on either machine, and exits 0."""
    id_a, id_b = _id(a), _id(b)

    def connected() -> bool:
        peers = _json(a.roam("--json", "status"))["peers"]
        return bool(peers) and all(p["connected"] for p in peers)

    wait_until(connected, timeout_s=60, what="a and b to connect")
    wait_until(
        lambda: (
            (a.projects_dir / ".roam" / "nodes" / f"{id_b}.json").is_file()
            and (b.projects_dir / ".roam" / "nodes" / f"{id_a}.json").is_file()
        ),
        timeout_s=30,
        what="the node files to cross",
    )
    for made in (a, b):
        result = _verify(made)
        bad = [  # no roam watch runs here: its one warning is not what this is about
            f
            for f in _json(result)["findings"]
            if f["status"] in ("fail", "warn") and f["dimension"] != "watch"
        ]
        assert result.exit_code == 0, bad
        assert bad == []


def test_accepting_a_machine_that_never_asked_says_so(knocked: tuple[Machine, Machine]) -> None:
    from tests.support.machine import fake_device_id

    a, _b = knocked
    stranger = fake_device_id("nobody knocked")
    result = a.peers("accept", stranger)
    assert result.exit_code == 2
    assert f"{stranger[:7]} has not asked to pair with this machine." in result.output


def test_two_machines_with_the_same_host_name_are_told_apart(
    knocked: tuple[Machine, Machine],
) -> None:
    a, b = knocked
    id_a, id_b = _id(a), _id(b)
    wait_until(lambda: bool(_pending_on(a)), timeout_s=30, what="b to knock on a")
    assert a.peers("accept", id_b).exit_code == 0
    wait_until(
        lambda: (a.projects_dir / ".roam" / "nodes" / f"{id_b}.json").is_file(),
        timeout_s=30,
        what="b's node file to reach a",
    )
    with a.client() as client:  # both test machines run on one host: the same default name
        own = {d.device_id: d.name for d in client.devices()}[id_a]
    listed = _json(a.peers("list", "--json"))["peers"]
    assert [p["name"] for p in listed] == [f"{own}-{id_b[:7]}"]
    status = _json(a.roam("--json", "status"))["peers"]
    assert [p["name"] for p in status] == [f"{own}-{id_b[:7]}"]


def test_pair_says_with_whom_once_paired_instead_of_repeating_instructions(
    knocked: tuple[Machine, Machine],
) -> None:
    a, b = knocked
    id_b = _id(b)
    wait_until(lambda: bool(_pending_on(a)), timeout_s=30, what="b to knock on a")
    assert a.peers("accept", id_b).exit_code == 0
    wait_until(
        lambda: all(p["connected"] for p in _json(a.roam("--json", "pair"))["paired"]),
        timeout_s=30,
        what="a and b to connect",
    )
    again = a.setup()
    assert again.exit_code == 0, again.output
    assert "Paired with " in again.output
    assert "On the other machine, run:" not in again.output
    assert "To pair another machine, run there:" in again.output
