"""What each node runs, published in the synced folder so every peer can see version skew.

Each node writes ``<projects>/.roam/nodes/<device-id>.json`` (atomic, 0600): roam's, Syncthing's
and Claude Code's versions, and a sample of its wall clock. A peer cannot read another machine's
clock directly, but it can compare that sample with the moment the file arrived here (the
file's ctime, stamped by *this* machine's clock when Syncthing renamed it into place): the
difference is the clock offset plus the sync latency (about the watcher delay, one second).

It also lists the devices the node shares the folder with (``folder_devices``): the lease is
safe only when every machine counts the same devices (docs/design/lease.md, "Limits"), and no
machine can ask another's Syncthing, so each says it here. The field is optional within schema
``roam.node/1``: older readers ignore keys they do not know, and a file from an older roam,
without it, means "unknown", not "malformed".
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam import __version__
from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.core.peer_schema import (
    PeerDataError,
    check_device_id,
    finite_number,
    load_state,
    read_state_bytes,
    text_field,
)
from session_roam.engine.core.safefs import is_link, refuse_links
from session_roam.engine.core.store import being_replaced, read_settled, syncthing_target

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "NODES_DIR",
    "SCHEMA",
    "NodeInfo",
    "PeerNodeInfo",
    "claude_version",
    "info_path",
    "publish",
    "read_nodes",
]

#: Relative to the projects folder; synced like the lease claims next to it.
NODES_DIR: Final = Path(".roam") / "nodes"
SCHEMA: Final = "roam.node/1"
_MAX_DEVICES: Final = 1000
_VERSION_TIMEOUT_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One node's published facts. ``clock`` is its ``time.time()`` when it wrote the file;
    ``folder_devices`` (sorted, itself included) is None when an older roam wrote it."""

    device_id: str
    name: str
    roam_version: str
    syncthing_version: str
    claude_version: str
    clock: float
    folder_devices: tuple[str, ...] | None = None
    #: The deletion policy here: ``ignoreDelete`` on the folder, Claude Code's
    #: ``cleanupPeriodDays`` (None: unset). ``policy_known`` is False when an older roam wrote it.
    ignore_delete: bool = False
    cleanup_days: int | None = None
    policy_known: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": SCHEMA,
            "device_id": self.device_id,
            "name": self.name,
            "roam_version": self.roam_version,
            "syncthing_version": self.syncthing_version,
            "claude_version": self.claude_version,
            "clock": self.clock,
        }
        if self.folder_devices is not None:
            data["folder_devices"] = list(self.folder_devices)
        if self.policy_known:
            data["deletion_policy"] = {
                "ignore_delete": self.ignore_delete,
                "cleanup_period_days": self.cleanup_days,
            }
        return data

    @classmethod
    def from_json(cls, data: Any) -> NodeInfo:
        """Parse a published file; ValueError when it is not one."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError("not a roam node file")
        try:  # a peer's file: every field held to its type and length (engine.peer_schema)
            return cls(
                device_id=check_device_id(data.get("device_id")),
                name=text_field(data, "name", required=False),
                roam_version=text_field(data, "roam_version"),
                syncthing_version=text_field(data, "syncthing_version"),
                claude_version=text_field(data, "claude_version", required=False),
                clock=finite_number(data, "clock"),
                folder_devices=_devices(data.get("folder_devices")),
                **_policy(data.get("deletion_policy")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed roam node file ({exc})") from exc


def _policy(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    days = value.get("cleanup_period_days")
    return {
        "ignore_delete": value.get("ignore_delete") is True,
        "cleanup_days": days if isinstance(days, int) and not isinstance(days, bool) else None,
        "policy_known": True,
    }


def _devices(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > _MAX_DEVICES:
        raise ValueError("folder_devices is not a list of device ids")
    return tuple(sorted({check_device_id(v, "folder_devices entry") for v in value}))


@dataclass(frozen=True, slots=True)
class PeerNodeInfo:
    """A node file as read here: its content (or why not) and when it arrived on this clock.

    ``arriving``: not here yet, while Syncthing writes its temp file (its first version on
    its way): no content and no error, the next read finds it.
    """

    device_id: str
    info: NodeInfo | None
    arrived: float
    error: str = ""
    arriving: bool = False

    @property
    def clock_offset_s(self) -> float | None:
        """The peer's clock minus ours, plus sync latency; None when unreadable."""
        return None if self.info is None else self.info.clock - self.arrived


def info_path(projects_dir: Path, device_id: str) -> Path:
    return projects_dir / NODES_DIR / f"{device_id}.json"


def claude_version(binary: str | None = None) -> str:
    """``claude --version``'s first word ("2.1.331"), or "" when there is no client here."""
    found = binary or os.environ.get("ROAM_CLAUDE_BIN") or shutil.which("claude")
    return _version_of(found) if found else ""


@functools.cache
def _version_of(found: str) -> str:
    """Cached per process: starting node to print a version costs about half a second."""
    try:
        done = subprocess.run(
            [found, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    words = done.stdout.split()
    return words[0] if done.returncode == 0 and words else ""


def publish(
    projects_dir: Path,
    *,
    device_id: str,
    name: str,
    syncthing_version: str,
    claude: str,
    roam_version: str = __version__,
    clock: float | None = None,
    folder_devices: Iterable[str] | None = None,
    policy: tuple[bool, int | None] | None = None,
) -> NodeInfo:
    """Write this node's file (atomically, so a peer never syncs half of it). ``folder_devices``
    are the devices Syncthing shares the folder with here; this node is added if missing.
    ``policy`` is ``(ignoreDelete, cleanupPeriodDays)`` here, for peers' ``roam verify``."""
    shared = None if folder_devices is None else tuple(sorted({*folder_devices, device_id}))
    info = NodeInfo(
        device_id=device_id,
        name=name,
        roam_version=roam_version,
        syncthing_version=syncthing_version,
        claude_version=claude,
        clock=time.time() if clock is None else clock,
        folder_devices=shared,
        ignore_delete=bool(policy and policy[0]),
        cleanup_days=None if policy is None else policy[1],
        policy_known=policy is not None,
    )
    path = info_path(projects_dir, device_id)
    refuse_links(projects_dir, path)  # a planted `.roam/nodes` link must not carry it away
    make_private_dirs(path.parent)
    body = json.dumps(info.to_json(), indent=2, sort_keys=True) + "\n"
    atomic_write(path, body.encode("utf-8"))
    return info


def _replaced_by(temp: Path) -> Path | None:
    """The node file Syncthing's temp file ``temp`` is the next version of, if it is one."""
    target = syncthing_target(temp.name)
    return temp.with_name(target) if target is not None and target.endswith(".json") else None


def read_nodes(projects_dir: Path) -> dict[str, PeerNodeInfo]:
    """Every node file here, by device id (file name), unreadable ones included with the reason,
    and those still arriving (``arriving``)."""
    folder = projects_dir / NODES_DIR
    found: dict[str, PeerNodeInfo] = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return found
    # a node file missing while Syncthing renames its new version in is read once it is there
    entries += [main for main in map(_replaced_by, entries) if main and main not in entries]
    for path in entries:
        if path.suffix != ".json" or not (path.is_file() or is_link(path) or being_replaced(path)):
            continue
        device = path.stem
        try:
            arrived, raw = read_settled(
                lambda p: (p.lstat().st_ctime, read_state_bytes(p, projects_dir)), path
            )
            info = NodeInfo.from_json(load_state(raw))
            if info.device_id != device:
                raise PeerDataError("its device id does not match its file name")
        except FileNotFoundError:
            if being_replaced(path):  # still downloading: not unreadable, only not here yet
                found[device] = PeerNodeInfo(device, None, 0.0, arriving=True)
            continue  # otherwise removed since it was listed
        except (OSError, ValueError) as exc:  # PeerDataError is a ValueError: reported, unused
            found[device] = PeerNodeInfo(device, None, 0.0, error=str(exc))
            continue
        found[device] = PeerNodeInfo(device, info, arrived)
    return found
