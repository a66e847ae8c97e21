"""The one seam where httpx's exceptions become roam's ``SyncthingError`` family.

Every request of ``SyncthingClient`` runs inside ``translate_http_errors``, so a refused API
key, a timeout, a refused connection and an error status each become one plain sentence naming
the Syncthing it talked to, with the cause chained, and never with the API key in it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import httpx

from session_roam.errors import ApiKeyRejected, SyncthingError, SyncthingUnreachable

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["translate_http_errors"]


@contextlib.contextmanager
def translate_http_errors(base_url: str, what: str, secret: str = "") -> Iterator[None]:
    """The one seam where httpx exceptions become roam errors (shape of httpx's own
    ``map_httpcore_exceptions``). ``what`` names the request; ``secret`` is scrubbed from any
    text taken from the exception, so not even a reflected key can leak."""

    def scrub(text: str) -> str:
        return text.replace(secret, "***") if secret else text

    try:
        yield
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        if status in (401, 403):
            raise ApiKeyRejected(
                f"Syncthing at {base_url} refused the API key ({status}) for {what}.",
                hint="Unset STGUIAPIKEY to use the key in Syncthing's own config.xml, or point "
                "--syncthing-home at the config of the Syncthing that is running there.",
            ) from exc
        body = scrub(exc.response.text.strip().splitlines()[0][:200]) if exc.response.text else ""
        detail = f": {body}" if body else ""
        raise SyncthingError(
            f"Syncthing at {base_url} answered {status} to {what}{detail}."
        ) from exc
    except httpx.TimeoutException as exc:
        raise SyncthingUnreachable(
            f"Syncthing at {base_url} did not answer {what} in time."
        ) from exc
    except (httpx.ConnectError, httpx.NetworkError, httpx.ProxyError) as exc:
        raise SyncthingUnreachable(
            f"Nothing answers at {base_url} ({scrub(str(exc)) or type(exc).__name__})."
        ) from exc
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict) as exc:
        raise SyncthingError(
            f"Talking to Syncthing at {base_url} failed during {what} "
            f"({type(exc).__name__}: {scrub(str(exc))})."
        ) from exc
