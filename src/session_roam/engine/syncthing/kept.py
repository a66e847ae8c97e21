"""Connections to Syncthing's REST API that outlive one client (issue 16).

``roam cr`` opens two ``SyncthingClient``s one after the other (the probe, then the lease
engine's), and each made its own connection pool and TCP connection. A client of a plain
``http://`` URL now leaves its pool here when it closes, and the next client of the same URL
in this process takes it, idle connection included. The cr server (``cli.crserver``) leaves
one here, connected ahead of each fork (``keep_connected``), so that its child's first request
skips the TCP and HTTP set-up. The child inherits it; the server then closes its own copy of
the socket (``forget_kept``) and never touches it again: one process alone reads each socket.

A process that forks and then talks to Syncthing on both sides must call ``forget_kept`` on
one of them, as the cr server does (the search index's fork workers never talk to it).

At most one pool per URL waits here. One whose connection is gone (Syncthing closes an idle
one after its 15 s ReadTimeout; the pool itself drops one idle for ``_IDLE_S``) connects again:
httpcore checks an idle connection before it reuses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import httpx

__all__ = ["forget_kept", "keep_connected", "keep_local_connected", "parked"]

#: How long an idle connection is kept: under Syncthing's own 15 s (its API server's
#: ReadTimeout, which Go uses as the idle timeout), so a kept one is never closed under us.
_IDLE_S: Final = 12.0

#: Pools left by closed clients (or the cr server), by base URL; at most one each.
_WAITING: dict[str, httpx.HTTPTransport] = {}


def parked(base_url: str) -> httpx.BaseTransport:
    """The transport for a new client of ``base_url`` (plain ``http://``): the pool waiting
    here, or a new one; closing the client leaves the pool here for the next client."""
    import httpx

    class Parking(httpx.BaseTransport):
        def __init__(self, pool: httpx.HTTPTransport) -> None:
            self._pool: httpx.HTTPTransport | None = pool

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if self._pool is None:
                raise httpx.TransportError("the client is closed")
            return self._pool.handle_request(request)

        def close(self) -> None:
            pool, self._pool = self._pool, None
            if pool is not None and _WAITING.setdefault(base_url, pool) is not pool:
                pool.close()  # one waits already

    pool = _WAITING.pop(base_url, None)
    if pool is None:
        limits = httpx.Limits(
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=_IDLE_S
        )
        pool = httpx.HTTPTransport(verify=False, limits=limits)
    return Parking(pool)


def keep_connected(base_url: str, *, timeout_s: float) -> bool:
    """Leave a pool connected to the Syncthing at ``base_url`` here (one unauthenticated
    request); False when nothing answers there."""
    import httpx

    try:
        with httpx.Client(base_url=base_url, transport=parked(base_url), timeout=timeout_s) as c:
            c.get("/rest/noauth/health")
    except Exception:  # a spare is only a saving: any failure (an address httpx
        # rejects, too) means none, never an end of the cr server that asked for it
        pool = _WAITING.pop(base_url, None)
        if pool is not None:
            pool.close()
        return False
    return True


def keep_local_connected(*, timeout_s: float) -> bool:
    """``keep_connected`` to this machine's Syncthing, as ``roam cr`` finds it in this
    environment (``locate_syncthing_home``); False when there is none, or it is not plain
    ``http://``, or nothing answers."""
    from session_roam.engine.syncthing.config import locate_syncthing_home, read_config
    from session_roam.errors import RoamError

    try:
        home = locate_syncthing_home(None)
        config = read_config(home.path) if home is not None else None
    except (RoamError, OSError, ValueError):
        return False
    if config is None or not config.gui_on_loopback:  # a far GUI would stall the accept loop
        return False
    base_url = config.base_url.rstrip("/")
    return base_url.startswith("http://") and keep_connected(base_url, timeout_s=timeout_s)


def forget_kept() -> None:
    """Close every waiting pool (this process's copies of their sockets): the cr server, after
    a fork, leaves the connection it made to the child alone."""
    while _WAITING:
        _base_url, pool = _WAITING.popitem()
        pool.close()
