"""Typed views of the Syncthing REST answers roam reads.

Only the fields roam acts on are lifted into attributes; each model keeps the decoded JSON in
``raw`` so that callers needing something rarer do not have to reach past the client. Parsing is
lenient about missing fields (2.x dropped or renamed a few) and strict about types of the ones
it keeps.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "Completion",
    "Connection",
    "DeviceConfig",
    "Event",
    "FileInfo",
    "FolderConfig",
    "FolderStatus",
    "Ignores",
    "SyncthingVersion",
    "SystemStatus",
    "parse_go_time",
]

_VERSION_RE: Final = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")

Json = Mapping[str, Any]

_NANOS: Final = re.compile(r"(\.\d{6})\d+")


def parse_go_time(text: str) -> datetime.datetime:
    """Go's RFC 3339 time (nanoseconds, ``Z``) as an aware datetime."""
    return datetime.datetime.fromisoformat(_NANOS.sub(r"\1", text).replace("Z", "+00:00"))


def _int(data: Json, key: str) -> int:
    value = data.get(key, 0)
    return int(value) if isinstance(value, int | float) else 0


def _str(data: Json, key: str) -> str:
    value = data.get(key, "")
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True, order=True)
class SyncthingVersion:
    """A Syncthing release; ordered so ``version >= SyncthingVersion(1, 12, 0)`` reads naturally."""

    major: int
    minor: int
    patch: int
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> SyncthingVersion | None:
        match = _VERSION_RE.search(text)
        if match is None:
            return None
        major, minor, patch = (int(part) for part in match.groups())
        return cls(major, minor, patch, text)

    def __str__(self) -> str:
        return self.text or f"v{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True, slots=True)
class SystemStatus:
    my_id: str
    uptime_s: int
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> SystemStatus:
        return cls(my_id=_str(data, "myID"), uptime_s=_int(data, "uptime"), raw=data)


@dataclass(frozen=True, slots=True)
class Connection:
    """One peer in ``/rest/system/connections`` (which also lists this node as not connected)."""

    device_id: str
    connected: bool
    paused: bool
    address: str
    client_version: str
    #: When this connection was established (RFC 3339, whole seconds; Syncthing's zero time when
    #: not connected). A peer's index arrives over the connection after this moment.
    started_at: str = ""

    @property
    def started_epoch(self) -> float | None:
        """``started_at`` in seconds since the epoch; None when not connected (Syncthing's zero
        time) or unreadable."""
        if not self.started_at or self.started_at.startswith("0001-"):
            return None
        try:
            return parse_go_time(self.started_at).timestamp()
        except ValueError:
            return None

    @classmethod
    def from_json(cls, device_id: str, data: Json) -> Connection:
        return cls(
            device_id=device_id,
            connected=bool(data.get("connected", False)),
            paused=bool(data.get("paused", False)),
            address=_str(data, "address"),
            client_version=_str(data, "clientVersion"),
            started_at=_str(data, "startedAt"),
        )


@dataclass(frozen=True, slots=True)
class Completion:
    """How much of a folder a peer still needs, as this node knows it.

    ``completion`` is a float that rounds to 100 while a byte is still missing, and it reads 100
    before this node has even scanned a change; ``in_sync`` therefore tests the need counters,
    and callers scan (or see ``LocalIndexUpdated``) first.
    """

    completion: float
    need_items: int
    need_bytes: int
    need_deletes: int
    global_items: int
    global_bytes: int
    raw: Json = field(repr=False, compare=False)

    @property
    def in_sync(self) -> bool:
        """Nothing left to send. ``need_deletes`` does not count: every roam folder ignores
        peers' deletions (docs/design/deletions.md), so a peer keeps "needing" a deletion it will
        never apply (measured on 1.19.2: needDeletes stays 2, needItems 0)."""
        return self.need_items == 0 and self.need_bytes == 0

    @classmethod
    def from_json(cls, data: Json) -> Completion:
        value = data.get("completion", 0.0)
        return cls(
            completion=float(value) if isinstance(value, int | float) else 0.0,
            need_items=_int(data, "needItems"),
            need_bytes=_int(data, "needBytes"),
            need_deletes=_int(data, "needDeletes"),
            global_items=_int(data, "globalItems"),
            global_bytes=_int(data, "globalBytes"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """``/rest/db/status``: this node's view of one folder."""

    state: str
    sequence: int
    need_items: int
    need_bytes: int
    need_deletes: int
    global_files: int
    local_files: int
    errors: int
    state_changed: str
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> FolderStatus:
        return cls(
            state=_str(data, "state"),
            sequence=_int(data, "sequence"),
            need_items=_int(data, "needFiles") + _int(data, "needDirectories"),
            need_bytes=_int(data, "needBytes"),
            need_deletes=_int(data, "needDeletes"),
            global_files=_int(data, "globalFiles"),
            local_files=_int(data, "localFiles"),
            errors=_int(data, "errors") + _int(data, "pullErrors"),
            state_changed=_str(data, "stateChanged"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class FileInfo:
    """``/rest/db/file``: who holds the global version of one file."""

    name: str
    availability: tuple[str, ...]
    modified_by: str
    global_sequence: int
    local_sequence: int
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> FileInfo:
        glob = data.get("global") or {}
        local = data.get("local") or {}
        available = data.get("availability") or []
        return cls(
            name=_str(glob, "name"),
            availability=tuple(
                _str(item, "id") if isinstance(item, Mapping) else str(item) for item in available
            ),
            modified_by=_str(glob, "modifiedBy"),
            global_sequence=_int(glob, "sequence"),
            local_sequence=_int(local, "sequence"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Ignores:
    """The folder's ``.stignore`` lines and how Syncthing expanded them."""

    lines: tuple[str, ...]
    expanded: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Json) -> Ignores:
        return cls(
            lines=tuple(str(x) for x in data.get("ignore") or ()),
            expanded=tuple(str(x) for x in data.get("expanded") or ()),
        )


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    device_id: str
    name: str
    addresses: tuple[str, ...]
    paused: bool
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> DeviceConfig:
        return cls(
            device_id=_str(data, "deviceID"),
            name=_str(data, "name"),
            addresses=tuple(str(a) for a in data.get("addresses") or ()),
            paused=bool(data.get("paused", False)),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class FolderConfig:
    id: str
    label: str
    path: str
    type: str
    device_ids: tuple[str, ...]
    fs_watcher_enabled: bool
    fs_watcher_delay_s: float
    max_conflicts: int
    paused: bool
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> FolderConfig:
        delay = data.get("fsWatcherDelayS", 10)
        return cls(
            id=_str(data, "id"),
            label=_str(data, "label"),
            path=_str(data, "path"),
            type=_str(data, "type"),
            device_ids=tuple(
                _str(d, "deviceID") for d in data.get("devices") or () if isinstance(d, Mapping)
            ),
            fs_watcher_enabled=bool(data.get("fsWatcherEnabled", False)),
            fs_watcher_delay_s=float(delay) if isinstance(delay, int | float) else 10.0,
            max_conflicts=_int(data, "maxConflicts"),
            paused=bool(data.get("paused", False)),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Event:
    """One ``/rest/events`` item. ``id`` counts per subscription mask, ``global_id`` does not."""

    id: int
    global_id: int
    type: str
    time: str
    data: Json = field(compare=False)

    @classmethod
    def from_json(cls, data: Json) -> Event:
        payload = data.get("data")
        return cls(
            id=_int(data, "id"),
            global_id=_int(data, "globalID"),
            type=_str(data, "type"),
            time=_str(data, "time"),
            data=payload if isinstance(payload, Mapping) else {},
        )
