"""Is a bigger cluster as quick as a small one? Pairing, ``roam cr``, propagation, verify and the
lease on 2, 3, 5 and 10 real Syncthing nodes on 127.0.0.1 (issue 21: "on 10 nodes: pairing,
``roam cr`` and verify as flat as on 5").

For each N: a full mesh of N-1 nodes (``bench.nodes.mesh``, each its own HOME, XDG folders,
Syncthing home and ports) holding ``--sessions`` sessions from ``bench.scale.make`` spread over
them, in sync; then the N-th machine pairs the way the README says and the rest runs on N nodes.
Every cluster size runs at once (20 Syncthing processes for 2+3+5+10) and the samples of each
figure are interleaved across them (``bench.nodes.sample``), so that the machine's other load
falls on every N alike:

  pairing      ``roam setup --device-id X --address A`` (every peer named) on the new machine,
               then ``roam peers add NEW --address A`` on each of the others in turn; from the
               first command until the new machine is connected to every peer and has every
               file. Printed with its parts: setup, one ``peers add`` (median; these two are
               roam's, and judged), then until connected and until every file is there (not
               judged: Syncthing's dialling, and the download of the corpus, most of which
               arrives while the ``peers add`` run).
  roam cr      ``roam cr ID`` on alpha with a claude that exits at once (median of ``--runs``).
  propagation  one line appended to a session on alpha until every other node's copy has it
               (Syncthing's 1 s watcher; median over runs of the slowest node).
  verify       ``roam --json verify`` on alpha (median).
  lease        uncontended acquisition in process, alpha and the last node in turn on an idle
               cluster (median).

Each figure is printed with its ratio to the 5-node figure of the same run; "flat" means at
most ``FLAT`` (1.25x) the 5-node figure. References in the same run: ``roam --version`` (a
process start), one REST call, and Syncthing alone confirming a scanned file on every peer
(the floor of the lease barrier). Syncthing's memory and CPU at rest are summed over the nodes;
the REST calls of ``roam cr``, ``verify`` and ``setup`` are counted (``bench.nodes.counted``).

    .venv/bin/python -m bench.nodes.run [--nodes 2 3 5 10] [--sessions 500] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

from .probes import group_cpu_s, group_rss_mb
from .sample import Mesh

#: A figure is "flat" when it is at most this many times its 5-node value.
FLAT: Final = 1.25
_REFERENCE: Final = 5
#: Shown with their ratio, not judged: the references, and the parts of pairing that are
#: Syncthing's (its dial back-off, the download of the whole corpus) rather than roam's.
_NOT_JUDGED: Final = ("ref:", "pairing: connected", "pairing: then", "pairing, total")
_LIBRARIES: Final = "import httpx, typer, rich, tenacity, session_roam.cli.app"
#: The interleaved figures, in the order they are taken.
_SAMPLED: Final = (
    ("ref: roam --version", Mesh.sample_version),
    ("ref: one REST call", Mesh.sample_rest),
    ("ref: a scanned file on every peer", Mesh.sample_confirmed),
    ("roam cr (claude exits at once)", Mesh.sample_cr),
    ("propagation to every node", Mesh.sample_propagation),
    ("roam verify (one node)", Mesh.sample_verify),
    ("lease, uncontended", Mesh.sample_lease),
)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def measure(meshes: list[Mesh], runs: int) -> None:
    """Every figure of every mesh, the samples interleaved (the order rotates each run)."""
    for mesh in meshes:
        mesh.pair()
        print(f"{mesh.count} nodes paired ({_load()})", flush=True)
    for mesh in meshes:
        mesh.warm_up()
    for name, sample in _SAMPLED:
        taken: dict[int, list[float]] = {mesh.count: [] for mesh in meshes}
        for i in range(runs):
            shift = i % len(meshes)
            for mesh in meshes[shift:] + meshes[:shift]:
                taken[mesh.count].append(sample(mesh, i))
        for mesh in meshes:
            mesh.figures[name] = statistics.median(taken[mesh.count])
        print(f"{name} done ({_load()})", flush=True)
    groups = {mesh.count: set(mesh.pids()) for mesh in meshes}
    before = {count: group_cpu_s(pids) for count, pids in groups.items()}
    time.sleep(10)
    for mesh in meshes:
        used = group_cpu_s(groups[mesh.count]) - before[mesh.count]
        mesh.figures["Syncthing CPU at rest, % of a core"] = used / 10 * 100
        mesh.figures["Syncthing MB, all nodes"] = group_rss_mb(mesh.pids())
        mesh.finish()


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


def _order(name: str) -> tuple[int, str]:
    """pairing, references, then each command with its REST calls, then memory and CPU."""
    for rank, start in enumerate(("pairing", "ref:", "roam cr", "propag", "roam verify", "lease")):
        if name.startswith(start):
            return rank, name
    return 9, name


def _unit(name: str) -> str:
    return " %" if name.endswith("% of a core") else " s"


def _report(table: dict[int, dict[str, float]]) -> bool:
    sizes = sorted(table)
    reference = table.get(_REFERENCE)
    names = sorted(table[sizes[0]], key=_order)
    print(f"\n{'figure':<40}" + "".join(f"{n:>9} n" for n in sizes) + "   largest / 5 nodes")
    flat = True
    for name in names:
        count = name.endswith(("MB, all nodes", "REST calls"))
        cells = "".join(
            f"{table[n][name]:>9.0f}  " if count else f"{table[n][name]:>9.3f}{_unit(name)}"
            for n in sizes
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
        os.environ["XDG_STATE_HOME"] = str(base / "lease-state")  # the in-process lease's
        meshes = [Mesh(n, corpus, base / f"n{n}", base / "pycache") for n in sorted(args.nodes)]
        with contextlib.ExitStack() as stack:
            for mesh in meshes:
                mesh.start(stack)
            print(f"every mesh in sync ({_load()})", flush=True)
            measure(meshes, args.runs)
        for mesh in meshes:
            table[mesh.count] = mesh.figures
            for problem in mesh.problems:
                print(f"  {mesh.count} nodes, verify on alpha: {problem}")
            for note in mesh.notes:
                print(f"  {mesh.count} nodes, {note}")
    flat = _report(table)
    print(
        f"\nflat = at most {FLAT}x the {_REFERENCE}-node figure; refs and Syncthing's part of "
        "pairing (dialling, downloading the corpus) are shown, not judged"
    )
    print(f"verdict: {'flat' if flat else 'NOT flat'}; after: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
