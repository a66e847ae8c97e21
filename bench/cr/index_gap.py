"""How long a lease-style publish takes on Syncthing, alone and right after another one.

Syncthing's index sender (``indexHandler.Serve`` in lib/model/indexhandler.go, 1.19.2) waits a
fixed 250 ms after each index message it sends to a peer before it looks for more, so a second
change scanned within 250 ms of the first one's send leaves late. No folder or options setting
changes that wait. This measures it on a real pair on 127.0.0.1, the way the lease publishes:
write a file, scan it, poll the local ``/rest/db/file`` until the peer holds it (the barrier).

    .venv/bin/python -m bench.cr.index_gap [--runs 8]

1. one publish after 1 s of quiet;
2. a second publish right after the first one's barrier (the bakery's doorway, then its ticket);
3. a release: the session file and the claim scanned by two calls (as the lease does now)
   against one call that names both (``/rest/db/scan?sub=A&sub=B``);
4. the second publish of 2., but in a second shared folder: the wait is per folder and peer.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

import httpx

from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec
from session_roam.engine.syncthing.folder import folder_body

if TYPE_CHECKING:
    from collections.abc import Sequence

    from session_roam.engine.syncthing.cluster import ClusterNode

_SPEC: Final = Path(__file__).resolve().parents[2] / "fixtures" / "clusters" / "pair.toml"
_POLL_S: Final = 0.005
_QUIET_S: Final = 1.0
_SECOND: Final = "roam-gap-second"


class Pair:
    def __init__(self, cluster: Cluster) -> None:
        self.alpha = cluster["alpha"]
        self.beta = cluster["beta"]
        self.folder = cluster.spec.folder_id
        self.http = httpx.Client(
            base_url=self.alpha.gui_url, headers={"X-API-Key": self.alpha.api_key}, timeout=30
        )
        self.counter = 0

    def share_second_folder(self) -> None:
        devices = [self.alpha.device_id, self.beta.device_id]
        for node in (self.alpha, self.beta):
            path = node.home / "second"
            node.client.add_folder(folder_body(_SECOND, str(path), devices))
        end = time.monotonic() + 30
        while time.monotonic() < end:
            states = {node.client.folder_status(_SECOND).state for node in (self.alpha, self.beta)}
            if states == {"idle"}:
                return
            time.sleep(0.1)
        raise SystemExit("the second folder never became idle on both nodes")

    def write(self, name: str, folder: str = "") -> None:
        self.counter += 1
        base = self.alpha.home / "second" if folder == _SECOND else self.alpha.projects_dir
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name} {self.counter} {time.time()}\n" * (1 + self.counter % 3))

    def scan(self, names: Sequence[str], folder: str) -> None:
        params: list[tuple[str, str | int | float | bool | None]] = [("folder", folder)]
        params.extend(("sub", name) for name in names)
        self.http.post("/rest/db/scan", params=params).raise_for_status()

    def barrier(self, name: str, peer: ClusterNode, folder: str, deadline_s: float = 10.0) -> None:
        """Until alpha's /rest/db/file lists the peer as holding the global version."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            response = self.http.get("/rest/db/file", params={"folder": folder, "file": name})
            if response.status_code == 200:
                data = response.json()
                have = {
                    item.get("id")
                    for item in data.get("availability") or ()
                    if not item.get("fromTemporary", False)
                }
                if peer.device_id in have:
                    return
            time.sleep(_POLL_S)
        raise SystemExit(f"{peer.name} never confirmed {name}")

    def publish(self, names: Sequence[str], *, one_call: bool = True, folder: str = "") -> float:
        folder = folder or self.folder
        started = time.perf_counter()
        if one_call:
            self.scan(names, folder)
        else:
            for name in names:
                self.scan([name], folder)
        self.barrier(names[-1], self.beta, folder)
        return time.perf_counter() - started


def _ms(values: Sequence[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values) * 1000:6.0f} ms   p95 {p95 * 1000:6.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roam-bench-gap-") as tmp:
        spec = ClusterSpec.load(_SPEC)
        with Cluster(spec, Path(tmp) / "cluster") as cluster:
            cluster.wait_in_sync()
            pair = Pair(cluster)
            pair.share_second_folder()
            claim, session = ".roam/gap/claim.json", "-gap/session.jsonl"
            alone, second, two_calls, one_call, other = [], [], [], [], []
            for _ in range(args.runs):
                time.sleep(_QUIET_S)
                pair.write(claim)
                alone.append(pair.publish([claim]))
                pair.write(claim)
                second.append(pair.publish([claim]))
                time.sleep(_QUIET_S)
                pair.write(session)
                pair.write(claim)
                two_calls.append(pair.publish([session, claim], one_call=False))
                time.sleep(_QUIET_S)
                pair.write(session)
                pair.write(claim)
                one_call.append(pair.publish([session, claim], one_call=True))
                time.sleep(_QUIET_S)
                pair.write(claim)
                pair.publish([claim])
                pair.write(claim, _SECOND)
                other.append(pair.publish([claim], folder=_SECOND))
    print(f"publish -> peer holds it, {args.runs} runs, Syncthing 1.19.2 on 127.0.0.1")
    print(f"  1. alone (after {_QUIET_S:g} s quiet)          {_ms(alone)}")
    print(f"  2. right after another publish         {_ms(second)}")
    print(f"  3a. release, two scan calls            {_ms(two_calls)}")
    print(f"  3b. release, one scan call, two subs   {_ms(one_call)}")
    print(f"  4. right after another, other folder   {_ms(other)}")


if __name__ == "__main__":
    main()
