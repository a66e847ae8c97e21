"""Building the lease engine for this machine: its Syncthing, its projects folder, its memory."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from session_roam.engine.core.paths import claude_config_dir, projects_dir
from session_roam.engine.core.roamconfig import read_roam_config
from session_roam.engine.core.xdg import config_dir, state_dir
from session_roam.engine.lease.engine import LeaseEngine
from session_roam.engine.lease.local import LocalLocks, ObservationStore
from session_roam.engine.lease.rule import CONFIG_KEY, DEFAULT_RULE, LeaseRule, parse_rule
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.lease.engine import LeaseTransport

__all__ = ["configured_rule", "engine_for", "engine_scope", "open_engine", "shared_by_syncthing"]


def open_engine(
    claude_dir: Path | None = None,
    *,
    syncthing_home: Path | None = None,
    folder_id: str | None = None,
    device_id: str | None = None,
) -> LeaseEngine:
    """The engine for this machine: its Syncthing (from config.xml, found by the one resolver,
    ``stconfig.locate_syncthing_home``) and Claude's projects folder. ``folder_id``: the
    folder that shares it, when the caller read it from that config.xml already (else asked);
    ``device_id``: the node's, when the caller has just seen that Syncthing answer with it."""
    from session_roam.engine.lease.transport import SyncthingTransport
    from session_roam.engine.syncthing.client import SyncthingClient
    from session_roam.engine.syncthing.config import find_syncthing_home, read_config

    config = read_config(find_syncthing_home(syncthing_home))
    client = SyncthingClient(config.base_url, config.api_key)
    try:
        transport = SyncthingTransport(
            client, projects_dir(claude_config_dir(claude_dir)), folder_id, device_id
        )
    except BaseException:
        client.close()
        raise
    return engine_for(transport)


def shared_by_syncthing(claude_dir: Path | None = None) -> bool:
    """Whether this machine's Syncthing (its config.xml, read without asking it) shares the
    projects folder of ``claude_dir``. A folder it does not share is not synced: nobody else
    writes it, so it needs no lease (``roam --claude-dir /tmp/x conflicts merge``)."""
    from session_roam.engine.syncthing.config import config_folders, locate_syncthing_home
    from session_roam.engine.syncthing.local import same_path

    home = locate_syncthing_home(None)
    if home is None:
        return False
    projects = projects_dir(claude_config_dir(claude_dir))
    return any(same_path(path, projects) for _id, path in config_folders(home.path))


@contextlib.contextmanager
def engine_scope(engine: LeaseEngine | None) -> Iterator[LeaseEngine]:
    """The caller's engine as it is, or this machine's for the duration (then closed)."""
    if engine is not None:
        yield engine
        return
    with open_engine() as owned:
        yield owned


def engine_for(transport: LeaseTransport) -> LeaseEngine:
    """An engine whose memory lives in roam's XDG state, one folder per device id."""
    base = state_dir() / "leases" / transport.device_id
    return LeaseEngine(
        transport,
        observations=ObservationStore(base / "observations.json"),
        locks=LocalLocks(base / "locks"),
        rule=configured_rule(),
    )


def configured_rule(folder: Path | None = None) -> LeaseRule:
    """``lease_rule`` from roam's config.toml: ``released`` (the default) or ``majority``.

    A value roam does not know is an error, not a silent default: someone who wrote
    ``majority`` to get one writer for sure must not get the provisional rule by a typo.
    """
    path = (folder if folder is not None else config_dir()) / "config.toml"
    data = read_roam_config(path)
    if CONFIG_KEY not in data:
        return DEFAULT_RULE
    rule = parse_rule(data[CONFIG_KEY])
    if rule is None:
        raise InvalidInput(
            f"{CONFIG_KEY} = {data[CONFIG_KEY]!r} in {path} is not a lease rule.",
            hint=f'Write {CONFIG_KEY} = "released" (the default: two machines hand over after a '
            f'clean release) or {CONFIG_KEY} = "majority" (refuse without a majority).',
        )
    return rule
