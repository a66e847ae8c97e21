"""How long a peer takes to confirm a changed file: a claim-sized one and a session-sized one.

A real pair on 127.0.0.1: alpha appends 200 bytes to a file, scans it, and waits (as the lease
barrier does: the event stream, then ``/rest/db/file``'s availability) until beta has it. A file
whose changed block is over 16 KiB waits ~40 ms more on loopback than a small one: Syncthing's
Nagle setting and the kernel's delayed ACK (``tests.support.netns``). With ``--mtu 1500`` the same
runs in a private namespace with a LAN's MTU, where the difference goes away.

    .venv/bin/python -m bench.cr.peer_pull [--runs 8] [--size 20000] [--mtu 1500]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Final

from tests.support.netns import in_namespace

from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec

from .run import _load

_SPEC: Final = Path(__file__).resolve().parents[2] / "fixtures" / "clusters" / "pair.toml"
_QUIET_S: Final = 0.6  # past Syncthing's 250 ms pause after the last confirmation


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--size", type=int, default=20_000, help="the session-sized file, bytes")
    parser.add_argument("--mtu", type=int, help="in a private namespace with this loopback MTU")
    args = parser.parse_args()
    in_namespace("bench.cr.peer_pull", args.mtu)
    print(f"before: {_load()}")
    spec = ClusterSpec.load(_SPEC)
    files = {"claim (300 B)": 300, f"session ({args.size:,} B)": args.size}
    took: dict[str, list[float]] = {name: [] for name in files}
    with (
        tempfile.TemporaryDirectory(prefix="roam-bench-pull-") as tmp,
        Cluster(spec, Path(tmp)) as cluster,
    ):
        alpha, beta = cluster["alpha"], cluster["beta"].client.my_id()
        client, folder = alpha.client, spec.folder_id
        paths = {name: f"bench/{i}.jsonl" for i, name in enumerate(files)}
        for name, size in files.items():
            (alpha.projects_dir / paths[name]).parent.mkdir(exist_ok=True)
            (alpha.projects_dir / paths[name]).write_bytes(b"x" * size)
        client.scan(folder, ["bench"])
        cluster.wait_in_sync()
        for _ in range(args.runs):
            for name in files:
                time.sleep(_QUIET_S)
                with (alpha.projects_dir / paths[name]).open("ab") as handle:
                    handle.write(b"y" * 200)
                events = client.subscribe(("RemoteIndexUpdated",))
                started = time.perf_counter()
                client.scan(folder, [paths[name]])
                while True:
                    info = client.file_info(folder, paths[name])
                    if info is not None and beta in info.availability:
                        break
                    events.poll(1.0)
                took[name].append(time.perf_counter() - started)
    for name, values in took.items():
        ms = sorted(v * 1000 for v in values)
        print(
            f"  {name:24s} scan + beta's confirmation p50 {statistics.median(ms):6.1f} ms, "
            f"min {ms[0]:5.1f}, max {ms[-1]:5.1f} ({args.runs} runs)"
        )
    print(f"after: {_load()}")


if __name__ == "__main__":
    main()
