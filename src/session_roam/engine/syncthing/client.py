"""A typed client for the parts of Syncthing's REST API that roam uses.

Only endpoints that Syncthing 2.x kept are called (``/rest/config/*``, ``/rest/db/*``,
``/rest/events``, ``/rest/system/*``, ``/rest/cluster/pending/*``), so one client serves 1.12+
and 2.x. The HTTP client (stdlib for ``http://``, httpx otherwise) and the translation of
every error into the ``SyncthingError`` family, cause chained, live in ``syncthing.http``.
The API key lives only in the HTTP client's default headers: never in a message, a log line
or ``repr``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.syncthing.events import EventSubscription
from session_roam.engine.syncthing.http import (
    HttpReply,
    get_retrying,
    open_session,
    status_of,
    translate_http_errors,
)
from session_roam.engine.syncthing.models import (
    Completion,
    Connection,
    DeviceConfig,
    Event,
    FileInfo,
    FolderConfig,
    FolderStatus,
    Ignores,
    SyncthingVersion,
    SystemStatus,
    parse_go_time,
)
from session_roam.errors import (
    SyncthingError,
    SyncthingUnreachable,
)

if TYPE_CHECKING:
    import datetime

    import httpx

__all__ = [
    "MAX_SUPPORTED",
    "MIN_SUPPORTED",
    "EventSubscription",
    "SyncthingClient",
]

log = logging.getLogger(__name__)

#: Granular ``/rest/config/*`` endpoints appeared in 1.12; 3.x does not exist yet.
MIN_SUPPORTED: Final = SyncthingVersion(1, 12, 0)
MAX_SUPPORTED: Final = SyncthingVersion(3, 0, 0)

_LONG_TIMEOUT_S: Final = 300.0


class SyncthingClient:
    """One Syncthing node's REST API.

    ``transport`` lets unit tests pass ``httpx.MockTransport``. GET requests are retried a few
    times on transient connection errors (tenacity, bounded); writes are not, because a
    repeated POST could apply twice.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = api_key
        self._http, retryable = open_session(
            self.base_url, {"X-API-Key": api_key}, timeout, transport
        )
        self._retryable = retryable

    def __repr__(self) -> str:
        return f"SyncthingClient({self.base_url!r})"

    def __enter__(self) -> SyncthingClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | Sequence[tuple[str, str]] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> HttpReply:
        what = f"{method} {path}"
        kwargs: dict[str, Any] = {"params": params}
        if body is not None:
            kwargs["json"] = body
        if timeout is not None:
            kwargs["timeout"] = timeout

        def send() -> HttpReply:
            response = self._http.request(method, path, **kwargs)
            response.raise_for_status()
            reply: HttpReply = response
            return reply

        with translate_http_errors(self.base_url, what, self._secret):
            if method == "GET":
                return get_retrying(send, self._retryable)
            return send()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except json.JSONDecodeError as exc:
            raise SyncthingError(
                f"Syncthing at {self.base_url} answered {method} {path} with something "
                "that is not JSON."
            ) from exc

    def _object(self, method: str, path: str, **kwargs: Any) -> Mapping[str, Any]:
        data = self._json(method, path, **kwargs)
        if not isinstance(data, Mapping):
            raise SyncthingError(
                f"Syncthing at {self.base_url} answered {method} {path} with an unexpected shape."
            )
        return data

    def _list(self, path: str) -> list[Mapping[str, Any]]:
        data = self._json("GET", path)
        if not isinstance(data, list):
            raise SyncthingError(
                f"Syncthing at {self.base_url} answered GET {path} with an unexpected shape."
            )
        return [item for item in data if isinstance(item, Mapping)]

    # -- system -----------------------------------------------------------------------------

    def ping(self) -> None:
        """Raise unless the node answers with our key (``/rest/noauth/health`` is 403 in 1.19)."""
        self._request("GET", "/rest/system/ping")

    def wait_until_ready(self, timeout_s: float = 30.0) -> None:
        """Block until ``ping`` answers, e.g. right after starting the process."""
        import tenacity

        try:
            for attempt in tenacity.Retrying(
                retry=tenacity.retry_if_exception_type(SyncthingUnreachable),
                stop=tenacity.stop_after_delay(timeout_s),
                wait=tenacity.wait_fixed(0.1),
                reraise=True,
            ):
                with attempt:
                    self.ping()
        except SyncthingUnreachable as exc:
            raise SyncthingUnreachable(
                f"Syncthing at {self.base_url} did not answer within {timeout_s:g} s."
            ) from exc

    def version(self) -> SyncthingVersion:
        data = self._object("GET", "/rest/system/version")
        text = str(data.get("version", ""))
        parsed = SyncthingVersion.parse(text)
        if parsed is None:
            raise SyncthingError(f"Syncthing at {self.base_url} reports an unreadable version.")
        return parsed

    def check_supported(self) -> SyncthingVersion:
        """The node's version, or SyncthingError when roam was not built for it."""
        found = self.version()
        if not MIN_SUPPORTED <= found < MAX_SUPPORTED:
            raise SyncthingError(
                f"Syncthing {found} at {self.base_url} is not supported; roam needs "
                f"{MIN_SUPPORTED} or newer, below {MAX_SUPPORTED}.",
                hint="Install a supported Syncthing release and run `roam setup` again.",
            )
        return found

    def system_status(self) -> SystemStatus:
        return SystemStatus.from_json(self._object("GET", "/rest/system/status"))

    def my_id(self) -> str:
        return self.system_status().my_id

    def connections(self) -> dict[str, Connection]:
        """Every configured device by ID, this node included (as not connected)."""
        data = self._object("GET", "/rest/system/connections")
        found = data.get("connections") or {}
        return {
            device: Connection.from_json(device, info)
            for device, info in found.items()
            if isinstance(info, Mapping)
        }

    def pause(self, device: str | None = None) -> None:
        """Pause one peer, or all. Persisted in config.xml until ``resume`` (not transient)."""
        self._request("POST", "/rest/system/pause", params={"device": device} if device else None)

    def resume(self, device: str | None = None) -> None:
        self._request("POST", "/rest/system/resume", params={"device": device} if device else None)

    def shutdown(self) -> None:
        self._request("POST", "/rest/system/shutdown")

    # -- config -----------------------------------------------------------------------------

    def config(self) -> Mapping[str, Any]:
        """The whole configuration; used to prove that an idempotent run changed nothing."""
        return self._object("GET", "/rest/config")

    def options(self) -> Mapping[str, Any]:
        return self._object("GET", "/rest/config/options")

    def patch_options(self, changes: Mapping[str, Any]) -> None:
        self._request("PATCH", "/rest/config/options", body=dict(changes))

    def gui(self) -> Mapping[str, Any]:
        return self._object("GET", "/rest/config/gui")

    def devices(self) -> list[DeviceConfig]:
        return [DeviceConfig.from_json(d) for d in self._list("/rest/config/devices")]

    def add_device(
        self, device_id: str, *, name: str = "", addresses: Sequence[str] = ("dynamic",)
    ) -> None:
        """Add or replace a device (POST to the collection creates or overwrites by ID)."""
        body = {
            "deviceID": device_id,
            "name": name,
            "addresses": list(addresses),
            "autoAcceptFolders": False,
        }
        self._request("POST", "/rest/config/devices", body=body)

    def patch_device(self, device_id: str, changes: Mapping[str, Any]) -> None:
        self._request("PATCH", f"/rest/config/devices/{device_id}", body=dict(changes))

    def remove_device(self, device_id: str) -> None:
        self._request("DELETE", f"/rest/config/devices/{device_id}")

    def folders(self) -> list[FolderConfig]:
        return [FolderConfig.from_json(f) for f in self._list("/rest/config/folders")]

    def folder(self, folder_id: str) -> FolderConfig:
        return FolderConfig.from_json(self._object("GET", f"/rest/config/folders/{folder_id}"))

    def add_folder(self, body: Mapping[str, Any]) -> None:
        """Create or replace a folder. POST devices first: unknown device IDs are dropped."""
        self._request("POST", "/rest/config/folders", body=dict(body))

    def remove_folder(self, folder_id: str) -> None:
        """Stop sharing a folder: it leaves the config; Syncthing deletes no file."""
        self._request("DELETE", f"/rest/config/folders/{folder_id}")

    def patch_folder(self, folder_id: str, changes: Mapping[str, Any]) -> None:
        self._request("PATCH", f"/rest/config/folders/{folder_id}", body=dict(changes))

    def restart_required(self) -> bool:
        data = self._object("GET", "/rest/config/restart-required")
        return bool(data.get("requiresRestart", False))

    # -- db ---------------------------------------------------------------------------------

    def completion(self, folder: str, device: str) -> Completion:
        """What ``device`` still needs of ``folder``. Only meaningful after this node scanned."""
        params = {"folder": folder, "device": device}
        return Completion.from_json(self._object("GET", "/rest/db/completion", params=params))

    def folder_status(self, folder: str) -> FolderStatus:
        data = self._object("GET", "/rest/db/status", params={"folder": folder})
        return FolderStatus.from_json(data)

    def needed_names(self, folder: str, *, limit: int = 1000) -> list[str]:
        """Names of the files this node still needs in ``folder`` (first ``limit`` of them)."""
        data = self._object(
            "GET", "/rest/db/need", params={"folder": folder, "page": 1, "perpage": limit}
        )
        names: list[str] = []
        for key in ("progress", "queued", "rest"):
            for item in data.get(key) or ():
                if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                    names.append(item["name"])
        return names

    def scan(
        self, folder: str, sub: str | Sequence[str] | None = None, *, timeout_s: float = 120.0
    ) -> None:
        """Scan now and return when the scan is done (the call blocks server-side).

        Several ``sub`` paths go in one call, so their changes leave in one index update:
        Syncthing waits a fixed 250 ms after each index update it sends to a peer.
        """
        subs = [sub] if isinstance(sub, str) else list(sub or ())
        params = [("folder", folder), *(("sub", one) for one in subs if one)]
        self._request("POST", "/rest/db/scan", params=params, timeout=timeout_s)

    def revert(self, folder: str) -> None:
        """Undo a receive-only folder's local changes (deletions included) from the global state."""
        self._request("POST", "/rest/db/revert", params={"folder": folder})

    def remote_need(self, folder: str, device: str) -> list[Mapping[str, Any]]:
        """What ``device`` still needs of ``folder`` as this node knows it; with ``ignoreDelete``
        that includes every deletion the device kept the file through (``deleted: true``)."""
        data = self._object(
            "GET", "/rest/db/remoteneed", params={"folder": folder, "device": device}
        )
        return [item for item in data.get("files") or () if isinstance(item, Mapping)]

    def browse(self, folder: str) -> Any:
        """``/rest/db/browse``: the folder's global tree, deleted entries left out."""
        return self._json("GET", "/rest/db/browse", params={"folder": folder})

    def file_info(self, folder: str, name: str) -> FileInfo | None:
        """Who holds the global version of one file; ``None`` when Syncthing does not know it."""
        try:
            data = self._object("GET", "/rest/db/file", params={"folder": folder, "file": name})
        except SyncthingError as exc:
            if status_of(exc.__cause__) == 404:
                return None
            raise
        return FileInfo.from_json(data)

    def ignores(self, folder: str) -> Ignores:
        return Ignores.from_json(self._object("GET", "/rest/db/ignores", params={"folder": folder}))

    def set_ignores(self, folder: str, lines: Sequence[str]) -> None:
        """Write the folder's ``.stignore`` through Syncthing so it reloads the patterns."""
        self._request(
            "POST", "/rest/db/ignores", params={"folder": folder}, body={"ignore": list(lines)}
        )

    def folder_stats(self) -> Mapping[str, Any]:
        """``/rest/stats/folder``: per folder, the last file pulled and the last scan."""
        return self._object("GET", "/rest/stats/folder")

    def device_last_seen(self) -> dict[str, datetime.datetime]:
        """``/rest/stats/device``: when this node last had a connection to each device (set on
        connect and on close; the epoch for never). Proof of who talked to whom that does not
        depend on the wording of Syncthing's log, which changed between 1.19 and 1.29."""
        found: dict[str, datetime.datetime] = {}
        for device, stats in self._object("GET", "/rest/stats/device").items():
            seen = stats.get("lastSeen") if isinstance(stats, Mapping) else None
            with contextlib.suppress(TypeError, ValueError):
                found[device] = parse_go_time(str(seen))
        return found

    def folder_errors(self, folder: str) -> list[Mapping[str, Any]]:
        data = self._object("GET", "/rest/folder/errors", params={"folder": folder})
        errors = data.get("errors") or []
        return [e for e in errors if isinstance(e, Mapping)]

    def pending(self, kind: str) -> Mapping[str, Any]:
        """``/rest/cluster/pending/{devices,folders}`` (1.18+): who knocked, what was offered."""
        return self._object("GET", f"/rest/cluster/pending/{kind}")

    # -- events -----------------------------------------------------------------------------

    def subscribe(self, event_types: Sequence[str]) -> EventSubscription:
        """Open an event subscription NOW, before the action whose events you want.

        Syncthing creates a subscription on the first request with a given ``events=`` mask and
        does not replay older events to it, so subscribing after acting misses the answer.
        """
        return EventSubscription(self, tuple(event_types))

    def fetch_events(self, mask: str, since: int, timeout_s: int, limit: int = 0) -> list[Event]:
        """One long poll of ``/rest/events``; ``EventSubscription`` keeps the cursor."""
        params: dict[str, str | int] = {"events": mask, "since": since, "timeout": timeout_s}
        if limit:
            params["limit"] = limit
        data = self._json("GET", "/rest/events", params=params, timeout=timeout_s + 10.0)
        if not isinstance(data, list):
            raise SyncthingError(
                f"Syncthing at {self.base_url} sent events in an unexpected shape."
            )
        return [Event.from_json(item) for item in data if isinstance(item, Mapping)]
