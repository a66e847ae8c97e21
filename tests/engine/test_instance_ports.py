"""Ports checked before a config is written or a node started (``instance.plan_ports``): a
taken default moves to a free port when roam may, a taken port the user asked for is refused."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from session_roam.engine.syncthing import instance
from session_roam.engine.syncthing.config import StConfig
from session_roam.engine.syncthing.instance import plan_ports, port_taken
from session_roam.errors import InvalidInput


def _config(gui: str = "127.0.0.1:8384", listen: tuple[str, ...] = ()) -> StConfig:
    return StConfig(Path("/h"), gui, gui_tls=False, listen_addresses=listen, api_key="")


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """Ports to pretend another program holds (nothing real is bound)."""
    held: set[int] = set()
    monkeypatch.setattr(instance, "port_taken", lambda _host, port: port in held)
    return held


def test_a_listening_socket_makes_its_port_taken() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert port_taken("127.0.0.1", port)
    assert not port_taken("127.0.0.1", port)


def test_free_ports_change_nothing(taken: set[int]) -> None:
    plan = plan_ports(_config(), gui_flag=None, listen_flag=None, may_move=True)
    assert (plan.gui_address, plan.listen_address, plan.notes) == (None, None, ())


def test_a_taken_default_gui_port_moves_to_the_next_free_one(taken: set[int]) -> None:
    taken.update({8384, 8385})
    plan = plan_ports(_config(), gui_flag=None, listen_flag=None, may_move=True)
    assert plan.gui_address == "127.0.0.1:8386"
    assert "taken by another program" in plan.notes[0]


def test_a_taken_default_sync_port_moves_to_a_tcp_listen_address(taken: set[int]) -> None:
    taken.add(22000)
    plan = plan_ports(_config(), gui_flag=None, listen_flag=None, may_move=True)
    assert plan.listen_address == "tcp://0.0.0.0:22001"


def test_a_taken_port_from_a_flag_is_refused_naming_a_free_one(taken: set[int]) -> None:
    taken.add(9000)
    with pytest.raises(InvalidInput, match="Port 9000") as caught:
        plan_ports(_config(), gui_flag="127.0.0.1:9000", listen_flag=None, may_move=True)
    assert caught.value.hint is not None
    assert "--gui-address 127.0.0.1:9001" in caught.value.hint


def test_a_taken_port_in_a_users_config_is_refused_not_moved(taken: set[int]) -> None:
    taken.add(8384)
    with pytest.raises(InvalidInput) as caught:
        plan_ports(_config(), gui_flag=None, listen_flag=None, may_move=False)
    assert caught.value.hint is not None
    assert "--gui-address 127.0.0.1:8385" in caught.value.hint


def test_flags_win_over_the_config(taken: set[int]) -> None:
    plan = plan_ports(
        _config(listen=("tcp://0.0.0.0:22000",)),
        gui_flag="127.0.0.1:9100",
        listen_flag="tcp://127.0.0.1:23000",
        may_move=False,
    )
    assert (plan.gui_address, plan.listen_address) == ("127.0.0.1:9100", "tcp://127.0.0.1:23000")


def test_relay_and_quic_listen_addresses_are_not_probed(taken: set[int]) -> None:
    taken.add(22000)
    config = _config(listen=("quic://0.0.0.0:22000", "dynamic+https://relays.syncthing.net"))
    plan = plan_ports(config, gui_flag=None, listen_flag=None, may_move=False)
    assert plan.listen_address is None
