"""One name per machine (engine.syncthing.names) and the addresses another machine can dial
(engine.syncthing.address)."""

from __future__ import annotations

from session_roam.engine.syncthing.address import dialable
from session_roam.engine.syncthing.names import display_name, machine_names, placeholder_name

A = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
B = "BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB"
C = "CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC"


def test_the_name_a_machine_publishes_wins_over_the_name_syncthing_has_here() -> None:
    assert machine_names({B: "nas-box"}, {B: "laptop"}) == {B: "laptop"}


def test_roams_placeholder_is_not_a_name() -> None:
    assert machine_names({B: placeholder_name(B)}) == {B: "BBBBBBB"}


def test_a_syncthing_name_is_used_when_nothing_is_published() -> None:
    assert machine_names({B: "desk"}) == {B: "desk"}


def test_two_machines_with_the_same_name_get_a_short_device_id_suffix() -> None:
    names = machine_names({A: "laptop", B: "laptop", C: "desk"})
    assert names == {A: "laptop-AAAAAAA", B: "laptop-BBBBBBB", C: "desk"}


def test_names_differing_only_in_case_collide_too() -> None:
    names = machine_names({A: "Laptop", B: "laptop"})
    assert names == {A: "Laptop-AAAAAAA", B: "laptop-BBBBBBB"}


def test_a_published_name_is_one_line_and_keeps_its_control_characters_for_the_output() -> None:
    # cli.output writes them out visibly (\x1b): a hostile name is seen, not quietly cleaned
    assert machine_names({}, {B: "evil\x1b[31m\nname"}) == {B: "evil\x1b[31m name"}


def test_an_unknown_device_is_shown_by_its_short_id() -> None:
    assert display_name({A: "desk"}, B) == "BBBBBBB"


def test_an_unspecified_listen_host_becomes_this_machines_addresses() -> None:
    assert dialable("tcp://0.0.0.0:22001", ["192.168.1.5", "vm"]) == [
        "tcp://192.168.1.5:22001",
        "tcp://vm:22001",
    ]


def test_a_bound_listen_host_is_kept() -> None:
    assert dialable("tcp://127.0.0.1:22001", ["192.168.1.5"]) == ["tcp://127.0.0.1:22001"]


def test_relays_and_dynamic_are_not_dialable() -> None:
    assert dialable("dynamic+https://relays.syncthing.net/endpoint", ["h"]) == []
    assert dialable("dynamic", ["h"]) == []
