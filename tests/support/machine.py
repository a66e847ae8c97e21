"""One simulated machine for CLI tests of `roam setup`, `status` and `peers` on real Syncthing.

Each machine has its own Claude dir and Syncthing home under ``root`` and loopback-only ports;
``setup`` always passes the options every test machine uses (no discovery, a 127.0.0.1 listen
address and GUI), so no test node ever announces itself on the LAN.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner, Result

from session_roam.cli.app import app
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.cluster import free_ports
from session_roam.engine.syncthing.config import read_config
from session_roam.engine.syncthing.deviceid import luhn_base32
from tests.support.cluster import discard_pid

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["Machine", "fake_device_id", "machine_set_up", "new_machine", "private_env"]


def fake_device_id(seed: str) -> str:
    """A valid Syncthing device ID (check characters included) that no real node has."""
    data = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().rstrip("=")
    checked = "".join(data[i : i + 13] + luhn_base32(data[i : i + 13]) for i in range(0, 52, 13))
    return "-".join(checked[i : i + 7] for i in range(0, 56, 7))


@dataclass(frozen=True, slots=True)
class Machine:
    """One simulated machine: its Claude dir and the Syncthing home `roam setup` manages."""

    root: Path
    claude_dir: Path
    syncthing_home: Path
    listen: str
    gui: str

    @property
    def projects_dir(self) -> Path:
        return self.claude_dir / "projects"

    def roam(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """`roam --claude-dir ... ARGS`, with --syncthing-home added to setup and status."""
        argv = ["--claude-dir", str(self.claude_dir), *args]
        if {"setup", "status", "pair"} & set(args) and "--syncthing-home" not in args:
            argv += ["--syncthing-home", str(self.syncthing_home)]
        return CliRunner().invoke(app, argv, env=env)

    def peers(self, *args: str) -> Result:
        argv = ["--claude-dir", str(self.claude_dir), "peers", *args]
        return CliRunner().invoke(app, [*argv, "--syncthing-home", str(self.syncthing_home)])

    def setup(self, *extra: str, before: tuple[str, ...] = ()) -> Result:
        """`roam setup` with the loopback options; ``before`` are global options (``--json``)."""
        argv = [*before, "--claude-dir", str(self.claude_dir), "setup"]
        argv += ["--syncthing-home", str(self.syncthing_home), "--no-discovery"]
        argv += ["--listen", self.listen, "--gui-address", self.gui, *extra]
        return CliRunner().invoke(app, argv)

    def client(self) -> SyncthingClient:
        config = read_config(self.syncthing_home)
        return SyncthingClient(config.base_url, config.api_key)


def new_machine(root: Path) -> Machine:
    gui_port, listen_port = free_ports(2)
    return Machine(
        root=root,
        claude_dir=root / "claude",
        syncthing_home=root / "syncthing",
        listen=f"tcp://127.0.0.1:{listen_port}",
        gui=f"127.0.0.1:{gui_port}",
    )


def private_env(root: Path) -> dict[str, str]:
    """HOME and XDG folders of the machine's own, and no systemd: roam starts Syncthing itself."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "ROAM_NO_SYSTEMD": "1",
    }


@contextlib.contextmanager
def machine_set_up(root: Path) -> Iterator[Machine]:
    """A machine in ``root`` on which `roam setup` has run, in its own HOME and XDG folders
    (set in the environment while the block runs); its Syncthing is discarded afterwards."""
    made = new_machine(root)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in private_env(made.root).items():
            patch.setenv(name, value)
        try:
            result = made.setup()
            assert result.exit_code == 0, result.output
            yield made
        finally:
            discard_pid(made.syncthing_home)
