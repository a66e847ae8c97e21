"""Is a bigger cluster as quick as a small one? Pairing, ``roam cr``, propagation, verify and the
lease on 2, 3, 5 and 10 real Syncthing nodes on 127.0.0.1 (issue 21: "on 10 nodes: pairing,
``roam cr`` and verify as flat as on 5").

For each N: a full mesh of N-1 nodes (``bench.nodes.mesh``, each its own HOME, XDG folders,
Syncthing home and ports) holding ``--sessions`` sessions from ``bench.scale.make`` spread over
them, in sync; then the N-th machine pairs the way the README says and the rest runs on N nodes:

  pairing      ``roam setup --device-id X --address A`` (every peer named) on the new machine,
               then ``roam peers add NEW --address A`` on each of the others in turn; from the
               first command until the new machine is connected to every peer and has every
               file. Printed with its parts: setup, one ``peers add`` (median), the catch-up
               after the last ``peers add`` (which moves the whole corpus to the new machine).
  roam cr      ``roam cr ID`` on alpha with a claude that exits at once (median of ``--runs``).
  propagation  one line appended to a session on alpha until every other node's copy has it
               (Syncthing's 1 s watcher; median over runs of the slowest node).
  verify       ``roam --json verify`` on alpha (median).
  lease        uncontended acquisition in process, alpha and the last node in turn on an idle
               cluster (median).

Each figure is printed with its ratio to the 5-node figure of the same run; "flat" means at
most ``FLAT`` (1.25x) the 5-node figure. Peak Syncthing memory is summed over every node.

    .venv/bin/python -m bench.nodes.run [--nodes 2 3 5 10] [--sessions 500] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.lease import api as lease
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.syncthing.cluster import Cluster

from .counted import calls as rest_calls
from .mesh import (
    Joiner,
    connected_to_all,
    counted,
    in_sync,
    mesh_spec,
    node_env,
    prepare_machine,
    project_folders,
    roam,
    spread,
)
from .probes import everywhere, group_cpu_s, group_rss_mb, known_on

if TYPE_CHECKING:
    from collections.abc import Callable

    from session_roam.engine.syncthing.cluster import ClusterNode

#: A figure is "flat" when it is at most this many times its 5-node value.
FLAT: Final = 1.25
_REFERENCE: Final = 5
#: Shown with their ratio, not judged: the references, and the parts of pairing that are
#: Syncthing's (its dial back-off, the download of the whole corpus) rather than roam's.
_NOT_JUDGED: Final = ("ref:", "pairing: connected", "pairing: then", "pairing, total")
_LIBRARIES: Final = "import httpx, typer, rich, tenacity, session_roam.cli.app"
_SYNC_TIMEOUT_S: Final = 300.0
_LINE: Final = (
    '{"type":"user","message":{"role":"user","content":"one more line %d"},'
    '"timestamp":"2026-12-06T12:00:00.000Z"}\n'
)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def _until(check: Callable[[], bool], what: str, timeout_s: float = _SYNC_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


class Mesh:
    """One N-node run: the mesh of N-1, the machine that joins it, and the figures taken."""

    joiner: Joiner

    def __init__(self, count: int, corpus: Path, root: Path, runs: int) -> None:
        self.count = count
        self.root = root
        self.runs = runs
        self.instant = root / "bin" / "claude"
        self.instant.parent.mkdir(parents=True)
        self.instant.write_text("#!/bin/sh\nexit 0\n")
        self.instant.chmod(0o700)
        self.pycache = root.parent / "pycache"
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

    @property
    def folder(self) -> str:
        return self.cluster.spec.folder_id

    def env(self, node: ClusterNode) -> dict[str, str]:
        return node_env(node.home, node.syncthing_home, self.instant, self.pycache)

    def run(self) -> dict[str, float]:
        with self.cluster:
            # chosen once the mesh listens, so that its ports cannot be chosen again
            self.joiner = Joiner.at(self.root / "new")
            prepare_machine(self.joiner.home, self.code)
            try:
                self.cluster.wait_in_sync(_SYNC_TIMEOUT_S)
                self.pair()
                self.references()
                self.crs()
                self.propagation()
                self.verify()
                self.lease()
                pids = [n.process.pid for n in self.cluster.nodes if n.process and n.process.pid]
                self.figures["syncthing MB, all nodes"] = group_rss_mb([*pids, self.joiner_pid()])
            finally:
                self.joiner.stop()
        return self.figures

    def pair(self) -> None:
        alpha = self.cluster.nodes[0]
        joiner_env = node_env(
            self.joiner.home, self.joiner.syncthing_home, self.instant, self.pycache
        )
        cwd = self.joiner.home
        started = time.perf_counter()
        self.figures["pairing: setup on the new machine"], _ = roam(
            self.joiner.setup_args(self.cluster.nodes), joiner_env, cwd
        )
        new_id = self.joiner.client().my_id()
        adds = [
            roam(["peers", "add", new_id, "--address", self.joiner.listen], self.env(n), n.home)[0]
            for n in self.cluster.nodes
        ]
        added = time.perf_counter()
        files = int(alpha.client.folder_status(self.folder).raw.get("globalFiles") or 0)
        peers = [n.device_id for n in self.cluster.nodes]
        client = self.joiner.client()
        _until(lambda: connected_to_all(client, peers), "the new machine to connect")
        connected = time.perf_counter()
        _until(lambda: in_sync(client, self.folder, files), "the new machine to catch up")
        done = time.perf_counter()
        self.figures["pairing: one peers add (median)"] = statistics.median(adds)
        self.figures["pairing: connected after the last add"] = connected - added
        self.figures["pairing: then every file there"] = done - connected
        self.figures["pairing, total"] = done - started

    def references(self) -> None:
        """What the machine's load does to any process and any REST call at this N."""
        alpha = self.cluster.nodes[0]
        env = self.env(alpha)
        roam(["--version"], env, alpha.home)  # its bytecode cached, as an installed roam has it
        took = [roam(["--version"], env, alpha.home)[0] for _ in range(self.runs)]
        self.figures["ref: roam --version"] = statistics.median(took)
        rest = []
        for _ in range(20):
            started = time.perf_counter()
            alpha.client.system_status()
            rest.append(time.perf_counter() - started)
        self.figures["ref: one REST call"] = statistics.median(rest)
        self.figures["ref: a scanned file on every peer"] = self._confirmed()
        self.figures["ref: Syncthing CPU at rest, % of a core"] = self._idle_cpu()

    def _confirmed(self) -> float:
        """Syncthing alone doing what the lease barrier waits for: a small file written and
        scanned on alpha, until alpha knows every peer has it (median of runs)."""
        alpha = self.cluster.nodes[0]
        peers = {n.device_id for n in self.cluster.nodes[1:]}
        peers.add(self.joiner.client().my_id())
        relative = ".roam/bench-confirm"
        took = []
        for i in range(self.runs):
            time.sleep(0.6)
            path = alpha.projects_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{i}\n")
            started = time.perf_counter()
            alpha.client.scan(self.folder, relative)
            _until(partial(known_on, alpha, self.folder, relative, peers), "the file's peers")
            took.append(time.perf_counter() - started)
        return statistics.median(took)

    def _idle_cpu(self) -> float:
        """Per cent of one core all the nodes' Syncthing use at rest (5 s)."""
        pids = [self.joiner_pid(), *(n.process.pid for n in self.cluster.nodes if n.process)]
        groups = {pid for pid in pids if pid}
        before = group_cpu_s(groups)
        time.sleep(5)
        return (group_cpu_s(groups) - before) / 5 * 100

    def joiner_pid(self) -> int:
        return int((self.joiner.syncthing_home / "roam-syncthing.pid").read_text())

    def calls(self, args: list[str], name: str) -> None:
        """How many REST calls one ``roam ARGS`` on alpha makes (``bench.nodes.counted``)."""
        alpha = self.cluster.nodes[0]
        target = self.root / "calls.json"
        env = {**self.env(alpha), "ROAM_BENCH_CALLS": str(target)}
        counted(args, env, alpha.home)
        found = json.loads(target.read_text())
        self.figures[f"{name}: REST calls"] = sum(found["calls"].values())
        self.figures[f"{name}: in REST calls, waits incl."] = sum(found["seconds"].values())
        slowest = sorted(found["seconds"].items(), key=lambda kv: -kv[1])[:3]
        self.notes.append(
            f"{name}: "
            + ", ".join(f"{k} x{found['calls'][k]} {v * 1000:.0f} ms" for k, v in slowest)
        )

    def crs(self) -> None:
        alpha = self.cluster.nodes[0]
        env = self.env(alpha)
        roam(["cr", self.session], env, alpha.home)  # the first run of a machine is not timed
        took = [roam(["cr", self.session], env, alpha.home)[0] for _ in range(self.runs)]
        self.figures["roam cr (claude exits at once)"] = statistics.median(took)
        self.calls(["cr", self.session], "roam cr")

    def _copies(self) -> list[Path]:
        relative = next(self.cluster.nodes[0].projects_dir.glob(f"*/{self.session}.jsonl"))
        parts = relative.relative_to(self.cluster.nodes[0].projects_dir)
        others = [n.projects_dir for n in self.cluster.nodes[1:]] + [self.joiner.projects_dir]
        return [root / parts for root in others]

    def propagation(self) -> None:
        source = next(self.cluster.nodes[0].projects_dir.glob(f"*/{self.session}.jsonl"))
        copies = self._copies()
        took = []
        for i in range(self.runs):
            time.sleep(0.5)
            with source.open("ab") as handle:
                handle.write((_LINE % i).encode())
            size = source.stat().st_size
            started = time.perf_counter()
            _until(partial(everywhere, copies, size), "the line to reach every node", 60)
            took.append(time.perf_counter() - started)
        self.figures["propagation to every node"] = statistics.median(took)

    def verify(self) -> None:
        alpha = self.cluster.nodes[0]
        env = self.env(alpha)
        _, out = roam(["--json", "verify"], env, alpha.home, codes=(0, 7))
        self.problems = [
            f"{f['status']}: {f['message']}"
            for f in json.loads(out)["findings"]
            if f["status"] in ("fail", "warn")
        ]
        args = ["--json", "verify"]
        took = [roam(args, env, alpha.home, codes=(0, 7))[0] for _ in range(self.runs)]
        self.figures["roam verify (one node)"] = statistics.median(took)
        self.calls(args, "roam verify")

    def lease(self) -> None:
        os.environ["XDG_STATE_HOME"] = str(self.root / "lease-state")
        pair = (self.cluster.nodes[0], self.cluster.nodes[-1])
        engines = [
            lease.engine_for(SyncthingTransport(n.client, n.projects_dir, self.folder))
            for n in pair
        ]
        session = str(uuid.uuid4())
        took = []
        calls = []
        for i in range(max(self.runs, 6)):
            time.sleep(0.6)
            rest_calls.clear()
            started = time.perf_counter()
            held = lease.acquire(session, engine=engines[i % 2], ttl_s=10)
            took.append(time.perf_counter() - started)
            calls.append(sum(rest_calls.values()))
            held.release()
        self.figures["lease, uncontended"] = statistics.median(took)
        self.figures["lease: REST calls"] = statistics.median(calls)


def _warm(cache: Path) -> None:
    """Every roam module compiled into ``cache``, as an install leaves them (the agents' shell
    sets PYTHONDONTWRITEBYTECODE, which would make each roam start compile them again)."""
    import session_roam

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    package = str(Path(session_roam.__file__).parent)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], env=env, check=True)
    # and the libraries they import (their own __pycache__ is not read under a prefix)
    subprocess.run([sys.executable, "-c", _LIBRARIES], env=env, check=True)


def _report(table: dict[int, dict[str, float]]) -> bool:
    sizes = sorted(table)
    reference = table.get(_REFERENCE)
    names = list(table[sizes[0]])
    print(f"\n{'figure':<40}" + "".join(f"{n:>9} n" for n in sizes) + "   largest / 5 nodes")
    flat = True
    for name in names:
        count = name.endswith(("MB, all nodes", ": REST calls", "% of a core"))
        cells = "".join(
            f"{table[n][name]:>9.0f}  " if count else f"{table[n][name]:>9.3f} s" for n in sizes
        )
        verdict = ""
        if reference is not None and not name.endswith(("MB, all nodes", "% of a core")):
            ratio = table[sizes[-1]][name] / reference[name]
            judged = not name.startswith(_NOT_JUDGED)
            ok = ratio <= FLAT
            flat &= ok or not judged
            verdict = f"   {ratio:5.2f}x " + (("flat" if ok else "NOT flat") if judged else "")
        print(f"{name:<40}{cells}{verdict}")
    return flat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[2, 3, 5, 10])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    # stopped by a signal (even started in the background, where SIGINT is ignored), every
    # node is still stopped on the way out
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"machine: {platform.platform()}, python {sys.version.split()[0]}; before: {_load()}")
    table: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="roam-bench-nodes-") as tmp:
        base = Path(tmp)
        corpus = base / "corpus"
        # bench.scale.make's own command (benchmarks do not import one another: see mypy)
        made = subprocess.run(
            [sys.executable, "-m", "bench.scale.make", str(args.sessions), str(corpus)],
            check=True,
            capture_output=True,
            text=True,
        )
        print(made.stdout.strip())
        _warm(base / "pycache")
        for count in args.nodes:
            mesh = Mesh(count, corpus, base / f"n{count}", args.runs)
            table[count] = mesh.run()
            for problem in mesh.problems:
                print(f"  verify on alpha: {problem}")
            for note in mesh.notes:
                print(f"  {note}")
            print(f"{count} nodes done ({_load()})", flush=True)
    flat = _report(table)
    print(
        f"\nflat = at most {FLAT}x the {_REFERENCE}-node figure; refs and Syncthing's part of "
        "pairing (dialling, downloading the corpus) are shown, not judged"
    )
    print(f"verdict: {'flat' if flat else 'NOT flat'}; after: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
