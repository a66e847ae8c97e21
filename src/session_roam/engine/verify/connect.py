"""What ``roam verify`` is asked to look at, and this machine's Syncthing as it reaches it.

``connect`` never raises for a Syncthing that is missing, down or refuses the key: each of those
is a fact the checks report (``ServiceFacts``), and verify goes on with what it can read.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.paths import claude_config_dir, projects_dir
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import (
    device_id_from_cert,
    find_syncthing_home,
    read_config,
)
from session_roam.engine.syncthing.instance import Answer, probe_instance
from session_roam.engine.syncthing.node import PID_FILE, find_syncthing_binary
from session_roam.engine.syncthing.service import describe_instance
from session_roam.engine.verify.model import (
    ServiceFacts,
)
from session_roam.errors import ApiKeyRejected, SetupError, SyncthingConfigMissing, SyncthingError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from session_roam.engine.syncthing.config import StConfig


__all__ = ["Connection", "VerifyRequest", "connect"]


_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """Where to look. ``None`` means "as roam finds it": $CLAUDE_CONFIG_DIR, Syncthing's own
    config, $HOME and $SHELL."""

    claude_dir: Path | None = None
    syncthing_home: Path | None = None
    api_key: str | None = None
    home: Path | None = None
    shell: str | None = None
    #: Read every session file again (``verify --full``), not only what changed and a sample.
    full: bool = False
    #: Hears (files read, files to read) while session files are read.
    progress: Callable[[int, int], None] | None = None

    @property
    def projects(self) -> Path:
        return projects_dir(claude_config_dir(self.claude_dir))

    @property
    def user_home(self) -> Path:
        return self.home or Path(os.environ.get("HOME") or Path.home())


@dataclass(slots=True)
class Connection:
    """This machine's Syncthing as verify reached it (client is None when it could not)."""

    facts: ServiceFacts
    client: SyncthingClient | None
    binary: str = ""
    home: Path | None = None


@contextlib.contextmanager
def connect(request: VerifyRequest) -> Iterator[Connection]:
    """Find and ask the local Syncthing; never raises for a node that is down or refuses us."""
    try:
        binary = find_syncthing_binary()
    except SetupError as exc:
        yield Connection(ServiceFacts(False, None, False, False, error=exc.message), None)
        return
    try:
        home = find_syncthing_home(request.syncthing_home, binary=binary)
        config = read_config(home, api_key=request.api_key)
    except SetupError as exc:
        yield Connection(ServiceFacts(True, None, False, False, error=exc.message), None, binary)
        return
    base = ServiceFacts(
        installed=True,
        config_home=str(home),
        reachable=False,
        key_rejected=False,
        supervised=(home / PID_FILE).is_file(),
        config_gui_address=config.gui_address,
    )
    client = SyncthingClient(config.base_url, config.api_key, timeout=_TIMEOUT_S)
    try:
        try:
            version = client.version()
            gui = client.gui()
            my_id = client.my_id()
            names = {d.device_id: d.name for d in client.devices()}
        except ApiKeyRejected:
            if request.api_key is None and _foreign(config):
                facts = replace(
                    base, foreign=True, error=f"another Syncthing answers at {config.base_url}"
                )
            else:
                facts = replace(base, key_rejected=True, error="the API key was refused")
            yield Connection(facts, None, binary, home)
            return
        except SyncthingError:
            facts = replace(base, error=f"nothing answers at {config.base_url}")
            yield Connection(facts, None, binary, home)
            return
        if _foreign_id(home, my_id):
            facts = replace(
                base, foreign=True, error=f"another Syncthing answers at {config.base_url}"
            )
            yield Connection(facts, None, binary, home)
            return
        facts = replace(
            base,
            instance=describe_instance(home, config.gui_address),
            reachable=True,
            version=str(version),
            running_gui_address=str(gui.get("address", "")),
            device_id=my_id,
            device_name=names.get(my_id, ""),
        )
        yield Connection(facts, client, binary, home)
    finally:
        client.close()


def _foreign_id(home: Path, answered: str) -> bool:
    """Whether the node that accepted our key has another device ID than this home's cert."""
    try:
        return answered != str(device_id_from_cert(home))
    except SyncthingConfigMissing:
        return False


def _foreign(config: StConfig) -> bool:
    """Whether someone else's Syncthing refused the key (not a wrong STGUIAPIKEY)."""
    try:
        return probe_instance(config) is Answer.FOREIGN
    except SyncthingError:  # the overriding key itself was refused: not a foreign node
        return False
