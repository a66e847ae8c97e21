"""The HTTP under ``SyncthingClient``, and the one seam where its errors become roam's.

roam talks to its own Syncthing on loopback over plain HTTP, a few requests per command. httpx
costs ``roam cr`` an import and, per client, an SSL context it never uses (together about a
tenth of a second on the machine issue 16 measured), so plain ``http://`` URLs go through
``StdlibHttp``, a small keep-alive client on ``http.client``. httpx stays for ``https://``
and for tests that pass an ``httpx.MockTransport``; it is imported only then.

Every request runs inside ``translate_http_errors``, so a refused API key, a timeout, a refused
connection and an error status each become one plain sentence naming the Syncthing it talked
to, with the cause chained, and never with the API key in it, whichever client sent it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
import threading
import urllib.parse
from typing import TYPE_CHECKING, Any, Protocol

from session_roam.errors import ApiKeyRejected, SyncthingError, SyncthingUnreachable

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

__all__ = [
    "RETRYABLE_STDLIB",
    "HttpReply",
    "HttpSession",
    "HttpStatusError",
    "StdlibHttp",
    "open_session",
    "status_of",
    "translate_http_errors",
]

#: Worth one more try for a GET: the connection failed before an answer came.
RETRYABLE_STDLIB = (ConnectionError, http.client.HTTPException)


class HttpReply(Protocol):
    """What ``SyncthingClient`` reads of a response (``httpx.Response`` is one)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class HttpSession(Protocol):
    """What ``SyncthingClient`` asks of its HTTP client (``httpx.Client`` is one)."""

    def request(
        self, method: str, url: str, *, params: Any = None, json: Any = None, timeout: Any = None
    ) -> Any: ...

    def close(self) -> None: ...


class _Reply:
    __slots__ = ("content", "status_code")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> _Reply:
        if self.status_code >= 400:
            raise HttpStatusError(self.status_code, self.text)
        return self


class HttpStatusError(Exception):
    """An error status from ``StdlibHttp`` (httpx's is ``HTTPStatusError``)."""

    def __init__(self, status_code: int, text: str) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.text = text


def status_of(exc: BaseException | None) -> int | None:
    """The HTTP status behind an error of either client, or None when there was none."""
    if isinstance(exc, HttpStatusError):
        return exc.status_code
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.HTTPStatusError):
        return int(exc.response.status_code)
    return None


class StdlibHttp:
    """A keep-alive HTTP/1.1 client for one ``http://`` base URL, safe across threads.

    Idle connections are kept in a small pool (the lease's renew thread and the caller may ask
    at once). A kept connection the server has closed meanwhile fails before any answer; the
    request is then sent once more on a fresh connection, as httpx's pool does.
    """

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"StdlibHttp speaks plain http only, not {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._headers = {"Accept": "*/*", "User-Agent": "session-roam", **headers}
        self._timeout = timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._mutex = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | Sequence[tuple[str, str]] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> _Reply:
        target = self._prefix + url
        if params:
            target += "?" + urllib.parse.urlencode(params)
        headers = dict(self._headers)
        body = None
        if json is not None:
            body = _dumps(json)
            headers["Content-Type"] = "application/json"
        wait = self._timeout if timeout is None else timeout
        with self._mutex:
            kept = self._idle.pop() if self._idle else None
        if kept is not None:
            try:
                return self._send(kept, method, target, body, headers, wait)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                pass  # closed by the server while idle: nothing was done, send it afresh
        fresh = http.client.HTTPConnection(self._host, self._port, timeout=wait)
        return self._send(fresh, method, target, body, headers, wait)

    def _send(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
        timeout: float,
    ) -> _Reply:
        try:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            reply = _Reply(response.status, response.read())
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            with self._mutex:
                self._idle.append(conn)
        return reply

    def close(self) -> None:
        with self._mutex:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def open_session(
    base_url: str, headers: Mapping[str, str], timeout: float, transport: Any = None
) -> tuple[HttpSession, tuple[type[BaseException], ...]]:
    """The HTTP client for ``base_url`` and the errors worth retrying a GET for: ours for plain
    ``http://``, httpx (imported only now) for ``https://`` or a test's ``transport``."""
    if transport is None and base_url.startswith("http://"):
        return StdlibHttp(base_url, headers, timeout), RETRYABLE_STDLIB
    import httpx

    client = httpx.Client(base_url=base_url, headers=headers, transport=transport, timeout=timeout)
    return client, (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@contextlib.contextmanager
def translate_http_errors(base_url: str, what: str, secret: str = "") -> Iterator[None]:
    """The one seam where HTTP exceptions become roam errors (shape of httpx's own
    ``map_httpcore_exceptions``). ``what`` names the request; ``secret`` is scrubbed from any
    text taken from the exception, so not even a reflected key can leak."""

    def scrub(text: str) -> str:
        return text.replace(secret, "***") if secret else text

    try:
        yield
    except HttpStatusError as exc:
        raise _status_error(base_url, what, exc.status_code, exc.text, scrub) from exc
    except TimeoutError as exc:
        raise _timed_out(base_url, what) from exc
    except http.client.HTTPException as exc:
        raise _failed(base_url, what, exc, scrub) from exc
    except OSError as exc:
        raise _nothing_answers(base_url, exc, scrub) from exc
    except Exception as exc:
        httpx = sys.modules.get("httpx")
        if httpx is None:
            raise
        if isinstance(exc, httpx.HTTPStatusError):
            response = exc.response
            error = _status_error(base_url, what, response.status_code, response.text, scrub)
            raise error from exc
        if isinstance(exc, httpx.TimeoutException):
            raise _timed_out(base_url, what) from exc
        if isinstance(exc, (httpx.ConnectError, httpx.NetworkError, httpx.ProxyError)):
            raise _nothing_answers(base_url, exc, scrub) from exc
        if isinstance(
            exc, (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict)
        ):
            raise _failed(base_url, what, exc, scrub) from exc
        raise


def _status_error(base_url: str, what: str, status: int, text: str, scrub: Any) -> SyncthingError:
    if status in (401, 403):
        return ApiKeyRejected(
            f"Syncthing at {base_url} refused the API key ({status}) for {what}.",
            hint="Unset STGUIAPIKEY to use the key in Syncthing's own config.xml, or point "
            "--syncthing-home at the config of the Syncthing that is running there.",
        )
    body = scrub(text.strip().splitlines()[0][:200]) if text.strip() else ""
    detail = f": {body}" if body else ""
    return SyncthingError(f"Syncthing at {base_url} answered {status} to {what}{detail}.")


def _timed_out(base_url: str, what: str) -> SyncthingUnreachable:
    return SyncthingUnreachable(f"Syncthing at {base_url} did not answer {what} in time.")


def _nothing_answers(base_url: str, exc: BaseException, scrub: Any) -> SyncthingUnreachable:
    return SyncthingUnreachable(
        f"Nothing answers at {base_url} ({scrub(str(exc)) or type(exc).__name__})."
    )


def _failed(base_url: str, what: str, exc: BaseException, scrub: Any) -> SyncthingError:
    return SyncthingError(
        f"Talking to Syncthing at {base_url} failed during {what} "
        f"({type(exc).__name__}: {scrub(str(exc))})."
    )
