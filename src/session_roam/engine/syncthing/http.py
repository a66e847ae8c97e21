"""The HTTP under ``SyncthingClient``, and the one seam where its errors become roam's.

roam talks to its own Syncthing on loopback over plain HTTP, a few requests per command, with
httpx. Two of its costs sat on ``roam cr``'s path (issue 16): its import (about 0.1 s), paid
now only when a client is first made, and an SSL context per client (about 65 ms, twice per
``roam cr``), which a plain ``http://`` URL never uses and so is not built for one
(``verify=False`` has nothing to verify there; ``https://`` keeps full verification).

Every request runs inside ``translate_http_errors``, so a refused API key, a timeout, a refused
connection and an error status each become one plain sentence naming the Syncthing it talked
to, with the cause chained, and never with the API key in it.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import TYPE_CHECKING, Any, Final, Protocol

from session_roam.errors import ApiKeyRejected, SyncthingError, SyncthingUnreachable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

__all__ = [
    "HttpReply",
    "HttpSession",
    "get_retrying",
    "open_session",
    "status_of",
    "translate_http_errors",
]

_GET_RETRY_WAIT_S: Final = 0.2


class HttpReply(Protocol):
    """What ``SyncthingClient`` reads of a response (an ``httpx.Response``)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class HttpSession(Protocol):
    """What ``SyncthingClient`` asks of its HTTP client (an ``httpx.Client``)."""

    def request(
        self, method: str, url: str, *, params: Any = None, json: Any = None, timeout: Any = None
    ) -> Any: ...

    def close(self) -> None: ...


def status_of(exc: BaseException | None) -> int | None:
    """The HTTP status behind an error, or None when there was none."""
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.HTTPStatusError):
        return int(exc.response.status_code)
    return None


def get_retrying(
    send: Callable[[], HttpReply], retryable: tuple[type[BaseException], ...]
) -> HttpReply:
    """``send``, tried up to three times on a transient connection error (0.2 s apart).

    tenacity is imported only after a first failure: most commands never need it, and its
    import cost ``roam cr`` milliseconds on every start (issue 16).
    """
    try:
        return send()
    except retryable:
        pass
    import tenacity

    time.sleep(_GET_RETRY_WAIT_S)
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(retryable),
        stop=tenacity.stop_after_attempt(2),
        wait=tenacity.wait_fixed(_GET_RETRY_WAIT_S),
        reraise=True,
    )
    return retrying(send)


def open_session(
    base_url: str, headers: Mapping[str, str], timeout: float, transport: Any = None
) -> tuple[HttpSession, tuple[type[BaseException], ...]]:
    """The httpx client for ``base_url`` (imported only now) and the errors worth retrying a
    GET for. No SSL context for plain ``http://``: there is no TLS to verify. A plain one's
    connection pool is kept for this process's next client of the same URL (``kept``)."""
    import httpx

    plain = base_url.startswith("http://")
    if plain and transport is None:
        from session_roam.engine.syncthing.kept import parked

        transport = parked(base_url)
    client = httpx.Client(
        base_url=base_url,
        headers=headers,
        transport=transport,
        timeout=timeout,
        verify=not plain,
    )
    return client, (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)


@contextlib.contextmanager
def translate_http_errors(base_url: str, what: str, secret: str = "") -> Iterator[None]:
    """The one seam where HTTP exceptions become roam errors (shape of httpx's own
    ``map_httpcore_exceptions``). ``what`` names the request; ``secret`` is scrubbed from any
    text taken from the exception, so not even a reflected key can leak."""

    def scrub(text: str) -> str:
        return text.replace(secret, "***") if secret else text

    try:
        yield
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
