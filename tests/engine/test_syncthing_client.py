from __future__ import annotations

import datetime
import inspect
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.http import translate_http_errors
from session_roam.errors import (
    ApiKeyRejected,
    RoamError,
    SyncthingError,
    SyncthingUnreachable,
    SyncTimeout,
)

KEY = "s3cr3t-API-key-0123456789abcdefg"
URL = "http://127.0.0.1:8384"
PEER = "HKHFN7Y-7TI5ZIW-ZIOBERK-MKLXZ7V-EKJOADU-PXKGBAY-DNV5YJL-EJSGTQL"

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> SyncthingClient:
    return SyncthingClient(URL, KEY, transport=httpx.MockTransport(handler), timeout=2.0)


def _answer(payload: Any, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json=payload)


@pytest.fixture
def seen() -> list[httpx.Request]:
    return []


def _recording(seen: list[httpx.Request], handler: Handler) -> Handler:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return record


def _all_httpx_exceptions() -> list[type[Exception]]:
    found = [
        obj
        for name in httpx.__all__
        if inspect.isclass(obj := getattr(httpx, name)) and issubclass(obj, Exception)
    ]
    assert len(found) > 20
    return found


def _make(exc_type: type[Exception]) -> Exception:
    request = httpx.Request("GET", URL + "/rest/system/ping")
    if exc_type is httpx.HTTPStatusError:
        response = httpx.Response(500, request=request, text="boom")
        return httpx.HTTPStatusError("boom", request=request, response=response)
    if issubclass(exc_type, httpx.RequestError):
        return exc_type("boom", request=request)
    if issubclass(exc_type, httpx.StreamError) and exc_type is not httpx.StreamError:
        return exc_type()  # type: ignore[call-arg]  # subclasses build their own message
    return exc_type("boom")


@pytest.mark.parametrize("exc_type", _all_httpx_exceptions(), ids=lambda t: t.__name__)
def testtranslate_http_errors_maps_every_httpx_exception(exc_type: type[Exception]) -> None:
    original = _make(exc_type)
    with pytest.raises(SyncthingError) as caught, translate_http_errors(URL, "GET /x", KEY):
        raise original
    assert caught.value.__cause__ is original
    assert KEY not in caught.value.message


def test_client_sends_api_key_header(seen: list[httpx.Request]) -> None:
    _client(_recording(seen, _answer({"ping": "pong"}))).ping()
    assert seen[0].headers["X-API-Key"] == KEY


def test_client_repr_hides_api_key() -> None:
    client = _client(_answer({}))
    assert KEY not in repr(client)
    assert URL in repr(client)


@pytest.mark.parametrize("status", [401, 403])
def test_client_rejected_key_raises_api_key_rejected(status: int) -> None:
    with pytest.raises(ApiKeyRejected, match="refused the API key") as caught:
        _client(_answer({}, status)).ping()
    assert KEY not in str(caught.value)


def test_client_error_message_scrubs_key_reflected_in_body() -> None:
    handler = lambda request: httpx.Response(500, text=f"bad key {KEY}")  # noqa: E731
    with pytest.raises(SyncthingError) as caught:
        _client(handler).ping()
    assert KEY not in caught.value.message
    assert "500" in caught.value.message


def test_client_refused_connection_raises_unreachable_after_bounded_retries(
    seen: list[httpx.Request],
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(SyncthingUnreachable, match=r"Nothing answers at http://127\.0\.0\.1:8384"):
        _client(refuse).ping()
    assert len(seen) == 3


def test_client_get_answers_after_a_transient_refusal(seen: list[httpx.Request]) -> None:
    def once(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"ping": "pong"})

    _client(once).ping()
    assert len(seen) == 3


def test_client_does_not_retry_writes(seen: list[httpx.Request]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(SyncthingUnreachable):
        _client(refuse).scan("f")
    assert len(seen) == 1


def test_client_wait_until_ready_succeeds_once_ping_answers(seen: list[httpx.Request]) -> None:
    def starting(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) < 5:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"ping": "pong"})

    _client(starting).wait_until_ready(timeout_s=10)
    assert len(seen) == 5


def test_client_wait_until_ready_gives_up_with_clear_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(SyncthingUnreachable, match=r"did not answer within 0.3 s"):
        _client(refuse).wait_until_ready(timeout_s=0.3)


def test_client_non_json_answer_raises_syncthing_error() -> None:
    handler = lambda request: httpx.Response(200, text="<html>")  # noqa: E731
    with pytest.raises(SyncthingError, match="not JSON"):
        _client(handler).system_status()


@pytest.mark.parametrize("version", ["v1.19.2", "v1.27.12", "v2.0.10"])
def test_client_check_supported_accepts_1x_and_2x(version: str) -> None:
    found = _client(_answer({"version": version})).check_supported()
    assert str(found) == version


@pytest.mark.parametrize("version", ["v1.11.0", "v3.0.0"])
def test_client_check_supported_rejects_other_versions(version: str) -> None:
    with pytest.raises(SyncthingError, match=f"Syncthing {version} .* is not supported"):
        _client(_answer({"version": version})).check_supported()


def test_client_completion_not_in_sync_while_bytes_missing() -> None:
    payload = {"completion": 99.995, "needItems": 1, "needBytes": 923, "needDeletes": 0}
    completion = _client(_answer(payload)).completion("f", PEER)
    assert not completion.in_sync
    assert completion.need_bytes == 923


def test_client_completion_in_sync_when_nothing_needed() -> None:
    payload = {"completion": 100, "needItems": 0, "needBytes": 0, "needDeletes": 0}
    assert _client(_answer(payload)).completion("f", PEER).in_sync


def test_client_scan_sends_folder_and_sub(seen: list[httpx.Request]) -> None:
    _client(_recording(seen, _answer({}))).scan("claude-projects", "p/s.jsonl")
    assert seen[0].method == "POST"
    assert seen[0].url.path == "/rest/db/scan"
    assert dict(seen[0].url.params) == {"folder": "claude-projects", "sub": "p/s.jsonl"}


def test_client_scan_sends_several_subs_in_one_call(seen: list[httpx.Request]) -> None:
    _client(_recording(seen, _answer({}))).scan("f", ["p/s.jsonl", ".roam/leases/x/A.json"])
    assert len(seen) == 1
    assert seen[0].url.params.get_list("sub") == ["p/s.jsonl", ".roam/leases/x/A.json"]


def test_client_needed_names_lists_every_queue(seen: list[httpx.Request]) -> None:
    payload = {"progress": [{"name": "a"}], "queued": [{"name": "b"}], "rest": [{"name": "c"}]}
    assert _client(_recording(seen, _answer(payload))).needed_names("f") == ["a", "b", "c"]
    assert seen[0].url.path == "/rest/db/need"


def test_client_file_info_unknown_file_is_none() -> None:
    handler = lambda request: httpx.Response(404, text="no such object in the index")  # noqa: E731
    assert _client(handler).file_info("f", "nope.jsonl") is None


def test_client_file_info_lists_availability() -> None:
    payload = {
        "availability": [{"id": PEER, "fromTemporary": False}],
        "global": {"name": "a.jsonl", "modifiedBy": "HKHFN7Y", "sequence": 4},
        "local": {"sequence": 4},
    }
    info = _client(_answer(payload)).file_info("f", "a.jsonl")
    assert info is not None
    assert info.availability == (PEER,)


def test_client_connections_are_keyed_by_device() -> None:
    payload = {"connections": {PEER: {"connected": True, "address": "127.0.0.1:22001"}}}
    found = _client(_answer(payload)).connections()
    assert found[PEER].connected


def test_client_add_device_posts_explicit_addresses(seen: list[httpx.Request]) -> None:
    _client(_recording(seen, _answer({}))).add_device(
        PEER, name="b", addresses=["tcp://127.0.0.1:22001"]
    )
    body = json.loads(seen[0].content)
    assert body["addresses"] == ["tcp://127.0.0.1:22001"]
    assert body["autoAcceptFolders"] is False


def _event(event_id: int, event_type: str, **data: Any) -> dict[str, Any]:
    return {"id": event_id, "globalID": event_id + 100, "type": event_type, "data": data}


def test_subscription_opens_before_acting_and_resumes_after_newest(
    seen: list[httpx.Request],
) -> None:
    def events(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        params = request.url.params
        if params.get("limit") == "1":
            return httpx.Response(200, json=[_event(7, "RemoteIndexUpdated")])
        return httpx.Response(200, json=[])

    subscription = _client(events).subscribe(["RemoteIndexUpdated"])
    subscription.poll()
    assert seen[0].url.params["timeout"] == "0"
    assert seen[1].url.params["since"] == "7"


def test_subscription_waits_for_the_matching_peer_and_folder() -> None:
    batches = [
        [],
        [
            _event(1, "RemoteIndexUpdated", device="OTHER", folder="f"),
            _event(2, "RemoteIndexUpdated", device=PEER, folder="g"),
        ],
        [_event(3, "RemoteIndexUpdated", device=PEER, folder="f")],
    ]
    handler = lambda request: httpx.Response(200, json=batches.pop(0))  # noqa: E731
    subscription = _client(handler).subscribe(["RemoteIndexUpdated"])
    event = subscription.wait_remote_index_updated(PEER, "f", timeout_s=5)
    assert event.id == 3


def test_subscription_wait_is_bounded() -> None:
    subscription = _client(_answer([])).subscribe(["RemoteIndexUpdated"])
    with pytest.raises(SyncTimeout, match="RemoteIndexUpdated from HKHFN7Y"):
        subscription.wait_remote_index_updated(PEER, "f", timeout_s=0.05)


def test_client_errors_are_roam_errors_with_hints() -> None:
    with pytest.raises(RoamError) as caught:
        _client(_answer({}, 403)).ping()
    assert caught.value.hint


def test_device_last_seen_reads_go_times_with_nanoseconds() -> None:
    answer = {
        PEER: {"lastSeen": "2026-12-06T17:58:49.123456789Z", "lastConnectionDurationS": 3.5},
        "NEVER": {"lastSeen": "1970-01-01T01:00:00+01:00"},
    }
    seen = _client(_answer(answer)).device_last_seen()
    assert seen[PEER] == datetime.datetime(2026, 12, 6, 17, 58, 49, 123456, tzinfo=datetime.UTC)
    assert seen["NEVER"].timestamp() == 0


def test_device_last_seen_skips_unreadable_entries() -> None:
    answer = {PEER: {"lastSeen": "yesterday"}, "OTHER": "not an object"}
    assert _client(_answer(answer)).device_last_seen() == {}
