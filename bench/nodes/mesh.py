"""An N-node full mesh of real Syncthing nodes on 127.0.0.1 for ``bench.nodes.run``.

``mesh_spec(n)`` is the spec ``fixtures/clusters/trio.toml`` would be for ``n`` nodes (every
node pairs with every other, roam's 1 s watcher); ``spread`` puts a corpus of sessions made by
``bench.scale.make`` round robin into the nodes' projects folders before the folder is shared;
``Joiner`` is one more machine that pairs with the running mesh the way the README says
(``roam setup --device-id ... --address ...`` on it, ``roam peers add`` on each machine it names).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.claude.cleanup import SAFE_CLEANUP_DAYS
from session_roam.engine.sessions.pathmap import PATHS_FILE
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.cluster import ClusterSpec, NodeSpec, free_ports
from session_roam.engine.syncthing.config import read_config
from session_roam.engine.syncthing.node import stop_pid

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from session_roam.engine.syncthing.cluster import ClusterNode

_NAMES: Final = (
    *("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"),
    *("lambda", "mu", "nu", "xi", "omicron"),
)
_CORPUS_CODE: Final = "/home/user/code"  # bench.scale.make's projects are below it
_STRIPPED: Final = ("CLAUDE", "ANTHROPIC", "STHOMEDIR", "STGUIAPIKEY")


def mesh_spec(count: int) -> ClusterSpec:
    """``count`` nodes, each paired with every other (``peers`` unset means all)."""
    return ClusterSpec(
        name=f"mesh{count}",
        nodes=tuple(NodeSpec(name) for name in _NAMES[:count]),
        watcher_delay_s=1,
        reconnection_interval_s=1,
    )


def spread(corpus: Path, targets: Sequence[Path]) -> dict[Path, list[str]]:
    """Copy every session of ``corpus/projects`` (with its sibling folder) to one of the
    ``targets`` (projects folders) in turn; answers each target's session ids."""
    placed: dict[Path, list[str]] = {target: [] for target in targets}
    sessions = sorted((corpus / "projects").glob("*/*.jsonl"))
    for i, path in enumerate(sessions):
        target = targets[i % len(targets)]
        folder = target / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, folder / path.name)
        side = path.with_suffix("")
        if side.is_dir():
            shutil.copytree(side, folder / side.name, dirs_exist_ok=True)
        placed[target].append(path.stem)
    return placed


def project_folders(corpus: Path, code: Path) -> None:
    """One folder below ``code`` per project of the corpus (its rows name the cwd)."""
    for folder in (corpus / "projects").iterdir():
        if folder.is_dir():
            (code / folder.name.removeprefix("-home-user-code-")).mkdir(parents=True, exist_ok=True)


def prepare_machine(home: Path, code: Path) -> None:
    """What a user of roam has on each machine: Claude Code's clean-up made harmless (as
    ``roam verify --fix`` leaves it) and the corpus's project paths (``/home/user/code/...``,
    recorded in its rows) mapped to folders that exist here (``roam paths map``)."""
    claude = home / ".claude"
    claude.mkdir(parents=True, exist_ok=True)
    (claude / "settings.json").write_text(json.dumps({"cleanupPeriodDays": SAFE_CLEANUP_DAYS}))
    config = home / ".config" / "session-roam"
    config.mkdir(parents=True, exist_ok=True)
    mapping = {"paths": [{"from": _CORPUS_CODE, "to": str(code)}]}
    (config / PATHS_FILE).write_text(json.dumps(mapping))


def node_env(home: Path, syncthing_home: Path, claude_bin: Path, cache: Path) -> dict[str, str]:
    """The environment of ``roam`` on one machine: its HOME, XDG folders and Syncthing home,
    bytecode cached as an installed roam has it (see ``bench.cr.run.as_installed``)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_STRIPPED) and key != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        STHOMEDIR=str(syncthing_home),
        ROAM_CLAUDE_BIN=str(claude_bin),
        ROAM_NO_SYSTEMD="1",
        ROAM_NO_LAUNCHD="1",
        PYTHONPYCACHEPREFIX=str(cache),
    )
    return env


def roam(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    *,
    codes: tuple[int, ...] = (0,),
    calls: Path | None = None,
) -> tuple[float, str]:
    """Run ``roam ARGS``; answers its wall seconds and stdout (an exit code not in ``codes``
    stops the benchmark). With ``calls``, its REST calls are counted into that file
    (``bench.nodes.counted``)."""
    module, env = "session_roam", dict(env)
    if calls is not None:
        module = "bench.nodes.counted"
        env.update(ROAM_BENCH_CALLS=str(calls), PYTHONPATH=str(Path(__file__).parents[2]))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode not in codes:
        raise SystemExit(
            f"roam {' '.join(args[:3])} failed ({done.returncode}):\n"
            f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        )
    return took, done.stdout


@dataclass(frozen=True, slots=True)
class Joiner:
    """A machine that is not in the mesh yet; ``roam setup`` starts its Syncthing."""

    root: Path
    listen: str
    gui: str

    @classmethod
    def at(cls, root: Path) -> Joiner:
        gui_port, listen_port = free_ports(2)
        (root / "home").mkdir(parents=True)
        return cls(root, f"tcp://127.0.0.1:{listen_port}", f"127.0.0.1:{gui_port}")

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def syncthing_home(self) -> Path:
        return self.root / "syncthing"

    @property
    def projects_dir(self) -> Path:
        return self.home / ".claude" / "projects"

    def client(self) -> SyncthingClient:
        config = read_config(self.syncthing_home)
        return SyncthingClient(config.base_url, config.api_key)

    def setup_args(self, peers: Sequence[ClusterNode]) -> list[str]:
        args = ["setup", "--syncthing-home", str(self.syncthing_home), "--no-discovery"]
        args += ["--listen", self.listen, "--gui-address", self.gui]
        for peer in peers:
            args += ["--device-id", peer.device_id, "--address", peer.listen_address]
        return args

    def stop(self) -> None:
        stop_pid(self.syncthing_home)


def connected_to_all(client: SyncthingClient, devices: Sequence[str]) -> bool:
    connections = client.connections()
    return all(d in connections and connections[d].connected for d in devices)


def in_sync(client: SyncthingClient, folder: str, files: int) -> bool:
    """This node has every one of the folder's ``files`` and needs nothing more."""
    status = client.folder_status(folder)
    raw = status.raw
    return (
        status.state == "idle"
        and not status.need_items
        and raw.get("localFiles") == raw.get("globalFiles")
        and int(raw.get("globalFiles") or 0) >= files
    )
