"""Connections to Syncthing kept across clients (engine.syncthing.kept): ``roam cr``'s probe and
lease engine share one, and the cr server leaves one connected for its next child (issue 16).

A small HTTP/1.1 server on 127.0.0.1 counts the connections it accepts, which is what these
behaviours are about; the served path with real Syncthing is tests/e2e/test_cr_served.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from session_roam.cli.crwire import socket_path
from session_roam.engine.syncthing import kept
from session_roam.engine.syncthing.client import SyncthingClient
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Counting(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.open = 0
        self.sockets: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Syncthing's Go server

    def setup(self) -> None:
        super().setup()
        server = self.server
        assert isinstance(server, _Counting)
        server.connections += 1
        server.open += 1
        server.sockets.append(self.connection)

    def finish(self) -> None:
        super().finish()
        server = self.server
        assert isinstance(server, _Counting)
        server.open -= 1

    def do_GET(self) -> None:
        body = b'{"myID": "X"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[_Counting]:
    with _Counting() as counting:
        threading.Thread(target=counting.serve_forever, daemon=True).start()
        yield counting  # pytest comes back here whatever the test did
        counting.shutdown()
    kept.forget_kept()


def test_the_next_client_of_the_same_syncthing_uses_the_connection_a_closed_one_left(
    server: _Counting,
) -> None:
    with SyncthingClient(server.url, "key") as probe:
        probe.my_id()
    with SyncthingClient(server.url, "key") as engine:
        engine.my_id()
        engine.my_id()
    assert server.connections == 1


def test_two_open_clients_never_share_a_connection_in_use(server: _Counting) -> None:
    with SyncthingClient(server.url, "key") as one, SyncthingClient(server.url, "key") as two:
        one.my_id()
        two.my_id()
    assert server.connections == 2


def test_keep_connected_leaves_a_connection_that_the_next_client_takes(
    server: _Counting,
) -> None:
    assert kept.keep_connected(server.url, timeout_s=1.0)
    with SyncthingClient(server.url, "key") as client:
        client.my_id()
    assert server.connections == 1


def test_after_forget_kept_the_next_client_connects_anew(server: _Counting) -> None:
    assert kept.keep_connected(server.url, timeout_s=1.0)
    kept.forget_kept()
    with SyncthingClient(server.url, "key") as client:
        client.my_id()
    assert server.connections == 2


def test_keep_connected_says_false_when_nothing_answers() -> None:
    with _Counting() as unused:
        url = unused.url
    assert not kept.keep_connected(url, timeout_s=1.0)


def test_keep_connected_says_false_for_an_address_httpx_rejects() -> None:
    assert kept.keep_connected("http://exa\u00dfmple..com:1", timeout_s=0.2) is False


def test_a_kept_connection_the_server_closed_meanwhile_is_replaced_not_failed(
    server: _Counting,
) -> None:
    assert kept.keep_connected(server.url, timeout_s=1.0)
    for idle in server.sockets:  # as Syncthing closes one idle for 15 s
        idle.shutdown(socket.SHUT_RDWR)
    with SyncthingClient(server.url, "key") as client:
        assert client.my_id() == "X"
    assert server.connections == 2


def test_the_cr_server_hands_its_connection_to_one_child_and_keeps_no_copy(
    server: _Counting, tmp_path: Path
) -> None:
    """The server connects to the Syncthing its environment names; after a fork only the child
    holds that connection (it closes when the child ends), and the server makes a new one."""
    home = tmp_path / "syncthing"
    home.mkdir()
    address = server.url.removeprefix("http://")
    (home / "config.xml").write_text(
        f"<configuration><gui><address>{address}</address><apikey>k</apikey></gui></configuration>"
    )
    runtime = Path(tempfile.mkdtemp(prefix="roam-rt-"))
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "STHOMEDIR": str(home)}
    env.pop("ROAM_SYNCTHING_HOME", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "session_roam.cli.crserver"], env=env, start_new_session=True
    )
    try:
        wait_until(lambda: server.open == 1, timeout_s=30, what="the server's connection")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(socket_path(env) or "")  # and leaves: its child ends at once
        wait_until(lambda: server.connections == 2, timeout_s=10, what="a new connection")
        wait_until(lambda: server.open == 1, timeout_s=10, what="the first one closed")
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(runtime, ignore_errors=True)
