"""``SyncthingClient`` over a real HTTP server on 127.0.0.1 (a stand-in for Syncthing's REST
API): what it sends, how every kind of failure is worded, and that a plain ``http://`` client
costs no SSL context (issue 16: 65 ms a client on ``roam cr``'s path)."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.errors import ApiKeyRejected, SyncthingError, SyncthingUnreachable

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "s3cr3t-API-key-0123456789abcdefg"
ME = "HKHFN7Y-7TI5ZIW-ZIOBERK-MKLXZ7V-EKJOADU-PXKGBAY-DNV5YJL-EJSGTQL"


class _Api(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *_: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, self.headers.get("X-API-Key"), body))
        if self.path.startswith("/rest/system/status"):
            self._reply(200, json.dumps({"myID": ME}).encode())
        elif self.path.startswith("/rest/db/file"):
            self._reply(404, b"no such file\n")
        elif self.path.startswith("/rest/config/options"):
            self._reply(403, b"CSRF Error\n")
        elif self.path.startswith("/rest/db/scan"):
            self._reply(500, f"folder broke; key {KEY}\nmore".encode())
        elif self.path.startswith("/rest/events"):
            time.sleep(1.5)
            self._reply(200, b"[]")
        else:
            self._reply(200, b"")

    do_GET = do_POST = do_PATCH = _route


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Api)
        self.seen: list[tuple[str, str, str | None, bytes]] = []
        self.connections = 0
        self.clients: list[SyncthingClient] = []

    def get_request(self) -> tuple[socket.socket, Any]:
        self.connections += 1
        return super().get_request()


@pytest.fixture
def api() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    for client in server.clients:
        client.close()
    server.shutdown()
    server.server_close()


def _client(server: _Server, timeout: float = 5.0) -> SyncthingClient:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    client = SyncthingClient(url, KEY, timeout=timeout)
    server.clients.append(client)
    return client


def test_a_plain_http_client_loads_no_certificates(
    api: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("an http:// client loaded CA certificates")

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", refuse)
    client = _client(api)
    assert isinstance(client._http, httpx.Client)
    assert client.my_id() == ME


def test_a_get_sends_the_api_key_and_reads_json(api: _Server) -> None:
    assert _client(api).my_id() == ME
    assert api.seen[-1][:3] == ("GET", "/rest/system/status", KEY)


def test_a_json_body_arrives_as_json(api: _Server) -> None:
    _client(api).patch_folder("f1", {"pullerDelayS": 0})
    method, path, _, body = api.seen[-1]
    assert (method, path, json.loads(body)) == (
        "PATCH",
        "/rest/config/folders/f1",
        {"pullerDelayS": 0},
    )


def test_a_repeated_sub_goes_in_one_query(api: _Server) -> None:
    with pytest.raises(SyncthingError):
        _client(api).scan("f1", ["a b.json", "c&d"])
    assert api.seen[-1][1] == "/rest/db/scan?folder=f1&sub=a+b.json&sub=c%26d"


def test_an_unknown_file_is_none(api: _Server) -> None:
    assert _client(api).file_info("f1", "x.json") is None


def test_a_refused_key_is_api_key_rejected(api: _Server) -> None:
    with pytest.raises(ApiKeyRejected, match=r"refused the API key \(403\) for GET"):
        _client(api).options()


def test_an_error_status_is_worded_without_the_key(api: _Server) -> None:
    with pytest.raises(SyncthingError) as caught:
        _client(api).scan("f1")
    assert "answered 500 to POST /rest/db/scan: folder broke; key ***." in caught.value.message


def test_nothing_listening_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SyncthingClient(f"http://127.0.0.1:{port}", KEY)
    with (
        client,
        pytest.raises(SyncthingUnreachable, match=r"Nothing answers at http://127\.0\.0\.1"),
    ):
        client.ping()


def test_a_slow_answer_is_unreachable_in_time(api: _Server) -> None:
    with pytest.raises(SyncthingUnreachable, match="did not answer GET /rest/events in time"):
        _client(api, timeout=0.3)._request("GET", "/rest/events")


def test_one_client_keeps_its_connection_alive(api: _Server) -> None:
    client = _client(api)
    for _ in range(3):
        client.my_id()
    assert api.connections == 1


def test_one_client_serves_two_threads_at_once(api: _Server) -> None:
    client = _client(api)
    found: list[str] = []
    threads = [threading.Thread(target=lambda: found.append(client.my_id())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [ME] * 8
