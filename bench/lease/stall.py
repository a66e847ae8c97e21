"""Issue 16's stalled confirmation: the lease's first barrier on fresh pairs, with a capture.

On some fresh Syncthing 1.29.5 pairs the peer's confirmation of our ``claiming`` claim (the
first barrier of every acquisition) takes 41-50 ms in nearly every round, for the pair's whole
life; on others, and on 1.19.2, 1-15 ms. This starts ``--pairs`` fresh pairs per ``--version``
(alpha and beta on 127.0.0.1, no claude), and on each alpha acquires and releases one session's
lease ``--runs`` times, ``--gap`` seconds apart (a served ``roam cr`` every ~1.5 s). Each
barrier is split into its scan and its wait for beta's confirmation; a pair is "stalled" when
most of its waits are over 35 ms. With ``--pcap DIR`` each pair's sync connection is captured
by ``tcpdump -i lo`` (inside the namespace with ``--mtu``) into ``DIR/NAME-N.pcap``, beside
``DIR/NAME-N.json`` (every round's epoch times and the pair's ports), and the stalled rounds
are printed segment by segment (``bench.lease.pcap``).

    STTRACE=model .venv/bin/python -m bench.lease.stall --mtu 1500 --pairs 8 --runs 4
        [--pcap /tmp/cap] [--version 1.29.5=/path/to/syncthing ...] [--both]
        [--reconnects K [--renew restart]] [--append 20000] [--quickack]

A round stalls when the claiming node's Syncthing runs two index handlers for the folder on its
connection (``STTRACE=model`` counts them; docs/design/cr-server.md). ``--both``: beta claims
too (its own session, after alpha's rounds on each connection), so a duplicate on either node
shows. ``--reconnects K``: each pair's connection is made again K times (``Cluster.pause`` and
``resume`` of beta; ``--renew restart``: alpha's Syncthing stopped and started, as after a
reboot), with ``--runs`` rounds on each. Not a quicker reproducer: a new connection exchanges
one ClusterConfig each way, not the two of a fresh pair's first, and none of 44 ran two
handlers. ``--append N``: between the acquisition and the release, N bytes are appended to a
session file (as claude does), so the release publishes a changed session with its claim.
``--quickack`` (with ``--mtu``): the namespace's route to 127.0.0.1 gets ``quickack 1``, so no
receiver delays an ACK (a finding: roam may not change the machine's TCP).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tests.support.netns import in_namespace

from session_roam.engine.lease import api as lease
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec

from .pcap import stalls

if TYPE_CHECKING:
    from collections.abc import Iterator

_SPEC: Final = Path(__file__).resolve().parents[2] / "fixtures" / "clusters" / "pair.toml"
_VERSIONS: Final = ("1.29.5=/work/main/.cache/syncthing/trixie/usr/bin/syncthing",)
_STALL_MS: Final = 35.0


class _Timed(SyncthingTransport):
    """The real transport; each barrier's scan and wait stamped (epoch seconds)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.marks: list[dict[str, float]] = []
        scan = self.client.scan

        def timed_scan(*a: Any, **k: Any) -> Any:
            if not self.marks or "end" in self.marks[-1]:  # not a barrier's (the client's shared)
                return scan(*a, **k)
            self.marks[-1]["scan_start"] = time.time()
            try:
                return scan(*a, **k)
            finally:
                self.marks[-1]["scan_end"] = time.time()

        self.client.scan = timed_scan  # type: ignore[method-assign]

    def publish(self, *args: Any, **kwargs: Any) -> None:
        self.marks.append({"start": time.time()})
        try:
            super().publish(*args, **kwargs)
        finally:
            self.marks[-1]["end"] = time.time()


@contextlib.contextmanager
def _capture(path: Path | None, ports: tuple[int, int]) -> Iterator[None]:
    """``tcpdump`` on ``lo`` for the pair's sync ports into ``path`` (nothing when None)."""
    if path is None:
        yield
        return
    expr = f"tcp port {ports[0]} or tcp port {ports[1]}"
    argv = ["tcpdump", "-i", "lo", "-U", "-s", "256", "-w", str(path), expr]
    argv[1:1] = ["--time-stamp-precision=nano"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)  # tcpdump's socket is open before the pair connects
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise SystemExit(f"tcpdump did not start: {err.strip()}")
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _rounds(
    transport: _Timed, session_file: Path, runs: int, gap_s: float, append: int
) -> list[dict[str, Any]]:
    """``runs`` acquisitions and releases of the session on alpha, each barrier stamped."""
    engine = lease.engine_for(transport)
    rounds: list[dict[str, Any]] = []
    for _ in range(runs):
        time.sleep(gap_s)
        first = len(transport.marks)
        began = time.time()
        held = lease.acquire(session_file.stem, engine=engine, ttl_s=30, session_file=session_file)
        acquired = time.time()
        if append:
            with session_file.open("ab") as handle:
                handle.write(b"x" * (append - 1) + b"\n")
        held.release()
        rounds.append(
            {
                "start": began,
                "acquired": acquired,
                "end": time.time(),
                "barriers": transport.marks[first:],
            }
        )
    return rounds


def _renew(cluster: Cluster, how: str) -> dict[str, int]:
    """A new connection for the pair: beta paused and resumed, or alpha's Syncthing restarted
    (as after a reboot). The nodes' log sizes before it starts: its handlers are counted after."""
    if how == "restart":
        process = cluster["alpha"].process
        assert process is not None
        process.stop()
        since = _log_sizes(cluster)
        process.start()
        cluster.wait_connected()
    else:
        cluster.pause("beta")
        since = _log_sizes(cluster)
        cluster.resume("beta")
    cluster.wait_in_sync()
    return since


def _log_sizes(cluster: Cluster) -> dict[str, int]:
    return {n.name: (n.syncthing_home / "syncthing.log").stat().st_size for n in cluster.nodes}


def _pair(binary: str, args: argparse.Namespace, pcap: Path | None) -> dict[str, Any]:
    """One fresh pair: its connections (``--reconnects`` more after the first), each with its
    rounds and each node's live index handlers."""
    spec = ClusterSpec.load(_SPEC)
    claimers = ("alpha", "beta") if args.both else ("alpha",)
    with tempfile.TemporaryDirectory(prefix="roam-bench-stall-") as tmp:
        cluster = Cluster(spec, Path(tmp), binary=binary)
        ports = (cluster.nodes[0].listen_port, cluster.nodes[1].listen_port)
        with _capture(pcap, ports), cluster:
            cluster.wait_in_sync()
            files = {}  # each claiming node's session
            for name in claimers:
                node = cluster[name]
                files[name] = node.projects_dir / f"-bench-{name}" / f"{uuid.uuid4()}.jsonl"
                files[name].parent.mkdir(parents=True, exist_ok=True)
                files[name].write_bytes(b"{}\n")
            cluster.wait_in_sync()
            connections: list[dict[str, Any]] = []
            since = {n.name: 0 for n in cluster.nodes}
            for number in range(args.reconnects + 1):
                if number:  # a new connection: its index handlers start anew
                    since = _renew(cluster, args.renew)
                done = {}
                for name, session_file in files.items():
                    node = cluster[name]  # a transport per connection: a restart ends a client
                    transport = _Timed(node.client, node.projects_dir, spec.folder_id)
                    done[name] = _rounds(transport, session_file, args.runs, args.gap, args.append)
                # Counted after the rounds: 1.29.5 starts a new connection's handlers only
                # when it promotes the connection, which may come after it is in sync.
                handlers = {
                    n.name: _keep_log(n.syncthing_home / "syncthing.log", pcap, n.name, since)
                    for n in cluster.nodes
                }
                connections.extend(
                    {"connection": number, "claimer": name, "rounds": rounds, "handlers": handlers}
                    for name, rounds in done.items()
                )
    rounds = [r for c in connections for r in c["rounds"]]
    return {"ports": ports, "binary": binary, "rounds": rounds, "connections": connections}


def _keep_log(log: Path, pcap: Path | None, name: str, since: dict[str, int]) -> int:
    """How many index handlers for the folder the node runs on this connection (started less
    exited in its log from ``since[name]``; -1: not logged, needs ``STTRACE=model``); the log
    kept beside the capture."""
    text = log.read_bytes()[since[name] :].decode(errors="replace")
    if pcap is not None:
        shutil.copyfile(log, pcap.with_suffix(f".{name}.log"))
    if "DEBUG" not in text:
        return -1
    return text.count("Starting index handler") - text.count("Exiting index handler")


def _wait_ms(round_: dict[str, Any]) -> float:
    """The first barrier's wait for the peer: from the scan's answer to the barrier's end."""
    mark = round_["barriers"][0]
    return float(mark["end"] - mark["scan_end"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--version", action="append", help="NAME=SYNCTHING_BINARY, repeatable")
    parser.add_argument("--pairs", type=int, default=3, help="fresh pairs per version")
    parser.add_argument("--runs", type=int, default=15, help="acquisitions per connection")
    parser.add_argument("--reconnects", type=int, default=0, help="new connections per pair")
    parser.add_argument(
        "--renew",
        choices=("pause", "restart"),
        default="pause",
        help="how a new connection is made: beta paused and resumed, or alpha restarted",
    )
    parser.add_argument("--gap", type=float, default=1.5, help="seconds between acquisitions")
    parser.add_argument("--append", type=int, default=0, help="bytes appended while held")
    parser.add_argument("--both", action="store_true", help="beta claims too, after alpha")
    parser.add_argument("--mtu", type=int, help="in a private namespace with this loopback MTU")
    parser.add_argument("--pcap", type=Path, help="capture each pair's connection into DIR")
    parser.add_argument(
        "--quickack",
        action="store_true",
        help="(with --mtu) the namespace's route to 127.0.0.1 gets `quickack 1`: no delayed ACK",
    )
    args = parser.parse_args()
    if args.pcap is not None and shutil.which("tcpdump") is None:
        raise SystemExit("--pcap needs tcpdump (apt-get install tcpdump); run without it.")
    if args.quickack and args.mtu is None:
        raise SystemExit("--quickack changes a route: only inside the namespace, with --mtu.")
    in_namespace("bench.lease.stall", args.mtu)
    if args.quickack:  # a finding, not a fix: roam may not change the machine's TCP
        route = "route change table local local 127.0.0.1 dev lo scope host src 127.0.0.1"
        subprocess.run(["ip", *route.split(" "), "quickack", "1"], check=True)
        print("route: 127.0.0.1 with quickack 1 (the receiver ACKs every segment at once)")
    if "XDG_STATE_HOME" not in os.environ:  # the leases' local state, removed on the way out
        os.environ["XDG_STATE_HOME"] = state = tempfile.mkdtemp(prefix="roam-bench-state-")
        atexit.register(shutil.rmtree, state, True)
    if args.pcap is not None:
        args.pcap.mkdir(parents=True, exist_ok=True)
    versions = dict(v.split("=", 1) for v in (args.version or _VERSIONS))
    print(f"load {os.getloadavg()[0]:.2f}; first barrier's wait for the peer, ms")
    stalled = total = 0
    for number in range(args.pairs):
        for name, binary in versions.items():
            label = f"{name}-{number}"
            pcap = args.pcap / f"{label}.pcap" if args.pcap else None
            found = _pair(binary, args, pcap)
            for connection in found["connections"]:
                waits = [_wait_ms(r) for r in connection["rounds"]]
                slow = sum(w > _STALL_MS for w in waits)
                total += 1
                stalled += slow > len(waits) // 2
                print(
                    f"  {label}/{connection['connection']} {connection['claimer']:5s} "
                    f"median {statistics.median(waits):5.1f} "
                    f"min {min(waits):5.1f} max {max(waits):5.1f}; over {_STALL_MS:g} ms in "
                    f"{slow} of {len(waits)}{'  STALLED' if slow > len(waits) // 2 else ''} "
                    f"(load {os.getloadavg()[0]:.2f}; index handlers {connection['handlers']})"
                )
            if pcap is not None:
                pcap.with_suffix(".json").write_text(json.dumps(found, indent=1))
                for line in stalls(pcap, found, _STALL_MS, limit=2):
                    print(f"    {line}")
    print(f"stalled connections: {stalled} of {total}")


if __name__ == "__main__":
    main()
