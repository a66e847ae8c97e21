"""One cluster of ``bench.nodes.run``: an N-1 node mesh, the machine that joins it, and one
sample at a time of each figure, so that the driver can interleave the cluster sizes."""

from __future__ import annotations

import json
import statistics
import time
import uuid
from functools import partial
from typing import TYPE_CHECKING, Final

from session_roam.engine.lease import api as lease
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.syncthing.cluster import Cluster

from .counted import calls as rest_calls
from .mesh import (
    Joiner,
    connected_to_all,
    in_sync,
    mesh_spec,
    node_env,
    prepare_machine,
    project_folders,
    roam,
    spread,
)
from .probes import everywhere, known_on

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Callable
    from pathlib import Path

    from session_roam.engine.lease.engine import LeaseEngine
    from session_roam.engine.syncthing.cluster import ClusterNode

SYNC_TIMEOUT_S: Final = 300.0
_LINE: Final = (
    '{"type":"user","message":{"role":"user","content":"one more line %d"},'
    '"timestamp":"2026-12-06T12:00:00.000Z"}\n'
)
_CONFIRM: Final = ".roam/bench-confirm"


def until(check: Callable[[], bool], what: str, timeout_s: float = SYNC_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


class Mesh:
    """The N-1 node mesh holding the corpus, then the N-th machine paired with it."""

    joiner: Joiner

    def __init__(self, count: int, corpus: Path, root: Path, pycache: Path) -> None:
        self.count = count
        self.root = root
        self.instant = root / "bin" / "claude"
        self.instant.parent.mkdir(parents=True)
        self.instant.write_text("#!/bin/sh\nexit 0\n")
        self.instant.chmod(0o700)
        self.pycache = pycache
        self.cluster = Cluster(mesh_spec(count - 1), root / "mesh")
        placed = spread(corpus, [node.projects_dir for node in self.cluster.nodes])
        self.session = placed[self.cluster.nodes[0].projects_dir][0]
        self.code = root / "code"
        project_folders(corpus, self.code)
        for node in self.cluster.nodes:
            prepare_machine(node.home, self.code)
        self.figures: dict[str, float] = {}
        self.problems: list[str] = []
        self.notes: list[str] = []
        self._engines: list[LeaseEngine] = []
        self._lease_session = str(uuid.uuid4())
        self._lease_calls: list[int] = []

    @property
    def alpha(self) -> ClusterNode:
        return self.cluster.nodes[0]

    @property
    def folder(self) -> str:
        return self.cluster.spec.folder_id

    def env(self, node: ClusterNode) -> dict[str, str]:
        return node_env(node.home, node.syncthing_home, self.instant, self.pycache)

    def start(self, stack: contextlib.ExitStack) -> None:
        """The mesh running and in sync (stopped when ``stack`` closes)."""
        stack.enter_context(self.cluster)
        # chosen once the mesh listens, so that its ports cannot be chosen again
        self.joiner = Joiner.at(self.root / "new")
        prepare_machine(self.joiner.home, self.code)
        stack.callback(self.joiner.stop)
        self.cluster.wait_in_sync(SYNC_TIMEOUT_S)

    def pair(self) -> None:
        """The new machine's ``roam setup`` naming every node, then ``roam peers add`` on each."""
        joiner_env = node_env(
            self.joiner.home, self.joiner.syncthing_home, self.instant, self.pycache
        )
        started = time.perf_counter()
        target = self.root / "setup-calls.json"
        setup = self.joiner.setup_args(self.cluster.nodes)
        self.figures["pairing: setup on the new machine"], _ = roam(
            setup, joiner_env, self.joiner.home, calls=target
        )
        new_id = self.joiner.client().my_id()
        adds = [
            roam(["peers", "add", new_id, "--address", self.joiner.listen], self.env(n), n.home)[0]
            for n in self.cluster.nodes
        ]
        added = time.perf_counter()
        files = int(self.alpha.client.folder_status(self.folder).raw.get("globalFiles") or 0)
        peers = [n.device_id for n in self.cluster.nodes]
        client = self.joiner.client()
        until(lambda: connected_to_all(client, peers), "the new machine to connect")
        connected = time.perf_counter()
        until(lambda: in_sync(client, self.folder, files), "the new machine to catch up")
        done = time.perf_counter()
        self.figures["pairing: one peers add (median)"] = statistics.median(adds)
        self.record_calls(target, "pairing: setup")
        self.figures["pairing: connected after the last add"] = connected - added
        self.figures["pairing: then every file there"] = done - connected
        self.figures["pairing, total"] = done - started

    def warm_up(self) -> None:
        """One untimed run of each command (a machine's first), its REST calls counted, and
        what verify finds to warn about kept in ``problems``."""
        env = self.env(self.alpha)
        roam(["--version"], env, self.alpha.home)
        self.calls(["cr", self.session], "roam cr")
        _, out = roam(["--json", "verify"], env, self.alpha.home, codes=(0, 7))
        self.problems = [
            f"{f['status']}: {f['message']}"
            for f in json.loads(out)["findings"]
            if f["status"] in ("fail", "warn")
        ]
        self.calls(["--json", "verify"], "roam verify")
        pair = (self.alpha, self.cluster.nodes[-1])
        self._engines = [
            lease.engine_for(SyncthingTransport(n.client, n.projects_dir, self.folder))
            for n in pair
        ]

    def calls(self, args: list[str], name: str) -> None:
        target = self.root / "calls.json"
        roam(args, self.env(self.alpha), self.alpha.home, codes=(0, 7), calls=target)
        self.record_calls(target, name)

    def record_calls(self, target: Path, name: str) -> None:
        found = json.loads(target.read_text())
        self.figures[f"{name}: REST calls"] = sum(found["calls"].values())
        self.figures[f"{name}: in REST calls, waits incl."] = sum(found["seconds"].values())
        slowest = sorted(found["seconds"].items(), key=lambda kv: -kv[1])[:3]
        self.notes.append(
            f"{name}: "
            + ", ".join(f"{k} x{found['calls'][k]} {v * 1000:.0f} ms" for k, v in slowest)
        )

    def joiner_pid(self) -> int:
        return int((self.joiner.syncthing_home / "roam-syncthing.pid").read_text())

    def pids(self) -> list[int]:
        """Each node's Syncthing (the group leader of its monitor and child)."""
        started = [n.process.pid for n in self.cluster.nodes if n.process]
        return [self.joiner_pid(), *(pid for pid in started if pid is not None)]

    # -- one sample of each figure ------------------------------------------------------------

    def sample_version(self, _i: int) -> float:
        return roam(["--version"], self.env(self.alpha), self.alpha.home)[0]

    def sample_rest(self, _i: int) -> float:
        took = []
        for _ in range(10):
            started = time.perf_counter()
            self.alpha.client.system_status()
            took.append(time.perf_counter() - started)
        return statistics.median(took)

    def sample_confirmed(self, i: int) -> float:
        """Syncthing alone doing what the lease barrier waits for: a small file written and
        scanned on alpha, until alpha knows every peer has it."""
        peers = {n.device_id for n in self.cluster.nodes[1:]} | {self.joiner.client().my_id()}
        time.sleep(0.6)
        path = self.alpha.projects_dir / _CONFIRM
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{i}\n")
        started = time.perf_counter()
        self.alpha.client.scan(self.folder, _CONFIRM)
        until(partial(known_on, self.alpha, self.folder, _CONFIRM, peers), "every peer")
        return time.perf_counter() - started

    def sample_cr(self, _i: int) -> float:
        return roam(["cr", self.session], self.env(self.alpha), self.alpha.home)[0]

    def sample_propagation(self, i: int) -> float:
        """One line appended on alpha until every other node's copy has it."""
        source = next(self.alpha.projects_dir.glob(f"*/{self.session}.jsonl"))
        relative = source.relative_to(self.alpha.projects_dir)
        others = [n.projects_dir for n in self.cluster.nodes[1:]] + [self.joiner.projects_dir]
        copies = [root / relative for root in others]
        time.sleep(0.5)
        with source.open("ab") as handle:
            handle.write((_LINE % i).encode())
        size = source.stat().st_size
        started = time.perf_counter()
        until(partial(everywhere, copies, size), "the line to reach every node", 60)
        return time.perf_counter() - started

    def sample_verify(self, _i: int) -> float:
        args = ["--json", "verify"]
        return roam(args, self.env(self.alpha), self.alpha.home, codes=(0, 7))[0]

    def sample_lease(self, i: int) -> float:
        """Uncontended acquisition on an idle cluster, alpha and the last node in turn."""
        time.sleep(0.6)
        rest_calls.clear()
        started = time.perf_counter()
        held = lease.acquire(self._lease_session, engine=self._engines[i % 2], ttl_s=10)
        took = time.perf_counter() - started
        self._lease_calls.append(sum(rest_calls.values()))
        held.release()
        return took

    def finish(self) -> None:
        if self._lease_calls:
            self.figures["lease: REST calls"] = statistics.median(self._lease_calls)
