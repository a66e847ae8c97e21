"""How often a reader of the synced folder misses a file while Syncthing replaces it (one-off).

A real pair on 127.0.0.1: beta rewrites one small file (a lease claim) as fast as Syncthing
takes it (write, scan of that path, a short pause: Syncthing waits 250 ms after each index
update it sends), while alpha, which applies each update by writing ``.syncthing.<name>.tmp``,
removing the old file and renaming the temp into place (``performFinish``), reads the folder
in a tight loop, for ``--seconds`` each:

(a) the old way: list the folder, then open each claim, a claim gone when opened skipped;
(b) ``lease.claim_files.read_claim_files`` (the listing taken again while one is mid-swap).

Both readers pause 1 ms between the listing and the opens (a busy reader). A third process
``os.stat``s the file on alpha as fast as it can, the whole time, to see how long it is absent
per update. Prints one table, with the load average (the figures move with the load).

    .venv/bin/python -m bench.lease.swap_window [--seconds 20]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.lease import claim_files
from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event

_SPEC: Final = Path(__file__).resolve().parents[2] / "fixtures" / "clusters" / "pair.toml"
_BUSY_S: Final = 0.001  # between the listing and the opens
_WRITE_PAUSE_S: Final = 0.2


def _busy_listdir() -> None:
    """Every ``os.listdir`` of this process pauses after it returns: a busy reader."""
    real = os.listdir

    def listdir(path: Any) -> list[str]:
        names = real(path)
        time.sleep(_BUSY_S)
        return names

    os.listdir = listdir  # type: ignore[assignment]


def _old_way(folder: Path, device: str) -> bool:
    """The reader before the fix: True when it saw the claim."""
    seen = False
    for entry in os.listdir(folder):
        if not entry.endswith(".json") or entry.startswith("."):
            continue
        try:
            (folder / entry).read_bytes()
        except FileNotFoundError:
            continue  # the old reader's silent skip
        seen = seen or entry == f"{device}.json"
    return seen


def _reader(way: str, projects: str, folder: str, device: str, seconds: float, out: Any) -> None:
    _busy_listdir()
    root, here = Path(projects), Path(folder)
    reads = missed = unreadable = 0
    longest = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        if way == "a":
            seen = _old_way(here, device)
        else:
            found = claim_files.read_claim_files(root, here)
            seen = device in found
            unreadable += found.get(device) == b""
        longest = max(longest, time.monotonic() - started)
        reads += 1
        missed += not seen
    out.put({"reads": reads, "missed": missed, "unreadable": unreadable, "longest": longest})


def _poller(path: str, stop: Event, out: Any) -> None:
    """Stat ``path`` in a tight loop: each absence (start, length) and each new inode."""
    polls = 0
    gaps: list[tuple[float, float]] = []
    swaps: list[float] = []
    inode = None
    gone_at: float | None = None
    while not stop.is_set():
        polls += 1
        now = time.monotonic()
        try:
            ino = os.stat(path).st_ino
        except FileNotFoundError:
            if gone_at is None:
                gone_at = now
            continue
        if gone_at is not None:
            gaps.append((gone_at, now - gone_at))
            gone_at = None
        if ino != inode:
            if inode is not None:
                swaps.append(now)
            inode = ino
    out.put({"polls": polls, "gaps": gaps, "swaps": swaps})


def _writer(node: Any, relpath: str, stop: threading.Event, counter: list[int]) -> None:
    path = node.projects_dir / relpath
    client = node.client
    while not stop.is_set():
        counter[0] += 1
        body = f'{{"state": "claiming", "ticket": {counter[0]}, "pad": "{"x" * 200}"}}\n'
        atomic_write(path, body.encode())
        client.scan("claude-projects", [relpath])
        time.sleep(_WRITE_PAUSE_S)


def _during(windows: list[tuple[float, float]], at: float) -> int | None:
    for index, (start, end) in enumerate(windows):
        if start <= at < end:
            return index
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    session = str(uuid.uuid4())
    with (
        tempfile.TemporaryDirectory(prefix="roam-bench-swap-") as tmp,
        Cluster(ClusterSpec.load(_SPEC), Path(tmp) / "cluster") as cluster,
    ):
        alpha, beta = cluster["alpha"], cluster["beta"]
        relpath = f".roam/leases/{session}/{beta.device_id}.json"
        make_private_dirs((beta.projects_dir / relpath).parent)
        atomic_write(beta.projects_dir / relpath, b'{"state": "claiming", "ticket": 0}\n')
        beta.client.scan("claude-projects", [relpath])
        target = alpha.projects_dir / relpath
        version = alpha.client.version().text
        deadline = time.monotonic() + 30
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        stop_poll, results = ctx.Event(), ctx.Queue()
        poller = ctx.Process(target=_poller, args=(str(target), stop_poll, results))
        poller.start()
        stop_write, counter = threading.Event(), [0]
        writer = threading.Thread(
            target=_writer, args=(beta, relpath, stop_write, counter), daemon=True
        )
        writer.start()
        rows: dict[str, dict[str, Any]] = {}
        windows: list[tuple[float, float]] = []
        loads: list[tuple[float, float, float]] = []
        for way in ("a", "b"):
            started = time.monotonic()
            reader = ctx.Process(
                target=_reader,
                args=(way, str(alpha.projects_dir), str(target.parent), beta.device_id,
                      args.seconds, results),
            )  # fmt: skip
            reader.start()
            rows[way] = results.get()
            reader.join()
            windows.append((started, time.monotonic()))
            loads.append(os.getloadavg())
        stop_write.set()
        writer.join()
        stop_poll.set()
        polled = results.get()
        poller.join()
    print(f"Syncthing {version}, {os.cpu_count()} cores (the stat poller keeps one busy).")
    _report(args.seconds, rows, polled, windows, loads, counter[0])


def _report(
    seconds: float,
    rows: dict[str, dict[str, Any]],
    polled: dict[str, Any],
    windows: list[tuple[float, float]],
    loads: list[tuple[float, float, float]],
    written: int,
) -> None:
    names = {"a": "(a) listdir, 1 ms, open (old)", "b": "(b) read_claim_files"}
    print(f"Swap window on a real Syncthing pair, {seconds:g} s per reader, beta wrote {written}")
    print(f"updates; alpha's file stat'ed {polled['polls']} times in all.")
    header = f"{'reader':32s} {'reads':>7s} {'applied':>7s} {'missed':>7s} {'miss %':>7s}"
    header += f" {'held-unreadable':>15s} {'longest read ms':>15s} {'absent us p50/p99/max':>22s}"
    header += f" {'load 1m':>7s}"
    print(header)
    for index, way in enumerate(("a", "b")):
        row = rows[way]
        applied = sum(_during(windows, at) == index for at in polled["swaps"])
        gaps = [g * 1e6 for start, g in polled["gaps"] if _during(windows, start) == index]
        absent = "-"
        if gaps:
            gaps.sort()
            p99 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))]
            absent = f"{statistics.median(gaps):.0f}/{p99:.0f}/{gaps[-1]:.0f} ({len(gaps)})"
        share = 100 * row["missed"] / max(1, row["reads"])
        print(
            f"{names[way]:32s} {row['reads']:7d} {applied:7d} {row['missed']:7d} {share:7.3f}"
            f" {row['unreadable']:15d} {row['longest'] * 1000:15.1f} {absent:>22s}"
            f" {loads[index][0]:7.2f}"
        )
    verdict = "PASS" if rows["b"]["missed"] == 0 else "FAIL"
    print(f"Goal: (b) never misses the claim (a live claim unseen = a double grant): {verdict}")
    print("(absent: how long alpha's file was missing per update, from the stat poller, in us,")
    print(" with the count of absences it saw: a poller descheduled through a whole absence misses")
    print(" it, and one descheduled inside one makes it longer; applied: new inodes it saw;")
    print(" held-unreadable: reads where (b) gave up waiting and counted the claim as held)")


if __name__ == "__main__":
    main()
