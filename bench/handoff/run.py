"""Hand-over latency on a real Syncthing pair on 127.0.0.1, three ways in one run.

For each run one JSON line is appended to a session file on alpha, and two times are taken
from the moment of the append:
  (a) the bytes are on beta (beta's file has the new line; polled every 1 ms);
  (b) alpha KNOWS beta has them - what a hand-over may safely wait for.

Ways:
  seed     the bash seed: watcher delay 2 s, and "knowing" is its fixed 2 s sleep after the
           session ends. (b) is therefore always 2 s, and a run where the sleep ends before the
           bytes arrived is counted as UNSAFE (the other machine would resume a stale copy).
  watcher  roam's folder settings (watcher delay 1 s); (b) = alpha's RemoteIndexUpdated from beta.
  scan     roam's hand-over: POST /rest/db/scan?sub=<file> right after the append, then wait for
           alpha's RemoteIndexUpdated from beta.

    .venv/bin/python -m bench.handoff.run [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec

if TYPE_CHECKING:
    from session_roam.engine.syncthing.cluster import ClusterNode

_SPEC: Final = Path(__file__).resolve().parents[2] / "fixtures" / "clusters" / "pair.toml"
_SEED_WATCHER_S: Final = 2
_SEED_SLEEP_S: Final = 2.0
_ROAM_WATCHER_S: Final = 1
_RELATIVE: Final = "-home-user-bench/0b5c7a52-0000-4b0e-9a55-3c1c1d2e3f40.jsonl"
_TIMEOUT_S: Final = 30.0


@dataclass(slots=True)
class Way:
    name: str
    watcher_s: int
    explicit_scan: bool
    fixed_sleep_s: float | None = None
    arrive: list[float] = field(default_factory=list)
    known: list[float] = field(default_factory=list)
    unsafe: int = 0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def _wait_bytes(path: Path, size: int, started: float, out: list[float]) -> None:
    deadline = started + _TIMEOUT_S
    while time.perf_counter() < deadline:
        try:
            if path.stat().st_size >= size:
                out.append(time.perf_counter() - started)
                return
        except FileNotFoundError:  # the receiver replaces the file: it briefly disappears
            pass
        time.sleep(0.001)
    out.append(float("nan"))


def _one_run(cluster: Cluster, way: Way, number: int) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    folder = cluster.spec.folder_id
    source = alpha.projects_dir / _RELATIVE
    target = beta.projects_dir / _RELATIVE
    line = json.dumps({"type": "user", "run": number, "way": way.name, "pad": "x" * 400}) + "\n"
    size = source.stat().st_size + len(line.encode())
    events = alpha.client.subscribe(["RemoteIndexUpdated"])
    arrived: list[float] = []
    started = time.perf_counter()
    with source.open("a", encoding="utf-8") as handle:
        handle.write(line)
    poller = threading.Thread(target=_wait_bytes, args=(target, size, started, arrived))
    poller.start()
    if way.fixed_sleep_s is not None:
        time.sleep(way.fixed_sleep_s)
        known = time.perf_counter() - started
    else:
        if way.explicit_scan:
            alpha.client.scan(folder, _RELATIVE)
        events.wait_remote_index_updated(beta.device_id, folder, timeout_s=_TIMEOUT_S)
        known = time.perf_counter() - started
    poller.join()
    way.arrive.append(arrived[0])
    way.known.append(known)
    if way.fixed_sleep_s is not None and arrived[0] > known:
        way.unsafe += 1
    # settle: both nodes idle and equal before the next append
    cluster.wait_in_sync()


def _set_watcher(nodes: list[ClusterNode], folder: str, seconds: int) -> None:
    for node in nodes:
        node.client.patch_folder(folder, {"fsWatcherDelayS": seconds, "fsWatcherEnabled": True})


def _machine() -> str:
    model = "unknown CPU"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                model = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    ways = [
        Way("seed", _SEED_WATCHER_S, explicit_scan=False, fixed_sleep_s=_SEED_SLEEP_S),
        Way("watcher", _ROAM_WATCHER_S, explicit_scan=False),
        Way("scan", _ROAM_WATCHER_S, explicit_scan=True),
    ]
    spec = ClusterSpec.load(_SPEC)
    with tempfile.TemporaryDirectory(prefix="roam-bench-") as root, Cluster(spec, Path(root)) as c:
        version = str(c["alpha"].client.version())
        source = c["alpha"].projects_dir / _RELATIVE
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text('{"type":"user","run":-1}\n', encoding="utf-8")
        c.wait_in_sync()
        for way in ways:
            _set_watcher(c.nodes, spec.folder_id, way.watcher_s)
            for number in range(args.runs):
                _one_run(c, way, number)
                # idle gaps of 0.1-2.5 s: hand-overs happen at any phase of the watcher's timer
                time.sleep(0.1 + (number * 7919 % 25) / 10)
    _report(ways, version, args.runs)
    if args.json_out is not None:
        args.json_out.write_text(
            json.dumps(
                {
                    "machine": _machine(),
                    "syncthing": version,
                    "runs": args.runs,
                    "ways": {
                        w.name: {"arrive_s": w.arrive, "known_s": w.known, "unsafe": w.unsafe}
                        for w in ways
                    },
                },
                indent=2,
            )
        )


def _report(ways: list[Way], version: str, runs: int) -> None:
    print(f"machine: {_machine()}; syncthing {version}; {runs} runs per way")
    print(
        f"{'way':8} {'(a) bytes p50':>14} {'p95':>8} {'(b) known p50':>14} {'p95':>8} {'unsafe':>7}"
    )
    for way in ways:
        print(
            f"{way.name:8} {_pct(way.arrive, 50):13.3f}s {_pct(way.arrive, 95):7.3f}s "
            f"{_pct(way.known, 50):13.3f}s {_pct(way.known, 95):7.3f}s {way.unsafe:>4}/{runs}"
        )
    base = ways[0]
    print(f"ratio of {base.name} to each way (higher = that way is faster):")
    for way in ways[1:]:
        print(
            f"  {way.name:8} (a) p50 x{_pct(base.arrive, 50) / _pct(way.arrive, 50):.1f}"
            f"  (b) p50 x{_pct(base.known, 50) / _pct(way.known, 50):.1f}"
            f"  (b) p95 x{_pct(base.known, 95) / _pct(way.known, 95):.1f}"
        )


if __name__ == "__main__":
    main()
