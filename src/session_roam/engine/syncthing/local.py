"""This machine's Syncthing: found from its own config, reached on its own REST address.

Every command that talks to Syncthing starts here, so "not installed", "no config", "not
running", "wrong key" and "unsupported version" are each reported once, the same way, as one
sentence with a hint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import StConfig, find_syncthing_home, read_config
from session_roam.engine.syncthing.instance import Answer, foreign_error, probe_instance
from session_roam.engine.syncthing.node import find_syncthing_binary
from session_roam.errors import ApiKeyRejected, SyncthingUnreachable

if TYPE_CHECKING:
    from session_roam.engine.syncthing.models import FolderConfig, SyncthingVersion

__all__ = ["LocalSyncthing", "connect_local", "find_roam_folder", "same_path"]


@dataclass(frozen=True, slots=True)
class LocalSyncthing:
    """A reachable, supported local node. Close ``client`` when done (or use ``with``)."""

    binary: str
    config: StConfig
    version: SyncthingVersion
    client: SyncthingClient = field(repr=False)

    def __enter__(self) -> LocalSyncthing:
        return self

    def __exit__(self, *_: object) -> None:
        self.client.close()


def connect_local(
    syncthing_home: Path | None = None, *, api_key: str | None = None
) -> LocalSyncthing:
    """Find the binary and config, and check that the node answers and is a supported version."""
    binary = find_syncthing_binary()
    config = read_config(find_syncthing_home(syncthing_home, binary=binary), api_key=api_key)
    client = SyncthingClient(config.base_url, config.api_key)
    try:
        version = client.check_supported()
    except SyncthingUnreachable as exc:
        client.close()
        raise SyncthingUnreachable(
            f"Syncthing is not running (nothing answers at {config.base_url}).",
            hint="Start it with `roam setup` (or `systemctl --user start syncthing`).",
        ) from exc
    except ApiKeyRejected:
        client.close()
        if api_key is None and probe_instance(config) is Answer.FOREIGN:
            raise foreign_error(config) from None
        raise
    except BaseException:
        client.close()
        raise
    return LocalSyncthing(binary=binary, config=config, version=version, client=client)


def same_path(configured: str, wanted: Path) -> bool:
    """Whether a folder path from Syncthing's config names ``wanted`` (``~`` and links resolved)."""
    left = Path(os.path.expanduser(configured))
    try:
        return left.resolve() == wanted.resolve()
    except OSError:
        return left == wanted


def find_roam_folder(
    client: SyncthingClient, projects_dir: Path, folder_id: str | None = None
) -> FolderConfig | None:
    """The folder that shares ``projects_dir``, whatever its id (the bash tool used
    ``claude-sessions``); with ``folder_id``, that folder if it exists."""
    folders = client.folders()
    if folder_id is not None:
        by_id = [f for f in folders if f.id == folder_id]
        if by_id:
            return by_id[0]
    matching = [f for f in folders if same_path(f.path, projects_dir)]
    return matching[0] if matching else None
