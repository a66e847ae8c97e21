"""What knowing the cluster's state costs ``roam cr`` in a connected, in-sync pair (issue 18).

``roam cr`` without a session id first makes sure this machine has every reachable peer's
index (``engine.awareness``); ``roam cr ID`` for a session already here does not. Both run
against the same session on a real Syncthing pair on 127.0.0.1, with a claude that exits at
once, so the difference is the check (plus picking the newest file). Also timed in process:
one ``await_cluster`` once the peer has acknowledged, and the first one on a fresh connection
(the node-file round trip).

    .venv/bin/python -m bench.cr.aware [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Final

from tests.e2e.cr_support import executable, home_of, roam_argv, roam_env
from tests.support.claude import ClaudeDriver
from tests.support.fake_api import FakeMessagesApi

from session_roam.engine.resume.awareness import await_cluster
from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec

from .run import _load, _p95_ms, _timed, claude_and_machine

_SPEC: Final = Path(__file__).resolve().parents[2] / "fixtures" / "clusters" / "pair.toml"


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} / {_p95_ms(values):6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--before",
        type=Path,
        help="a src/ folder of roam before the change (`git archive main src | tar -x`): "
        "its `roam cr` is timed too, interleaved",
    )
    args = parser.parse_args()
    claude = str(claude_and_machine())
    with tempfile.TemporaryDirectory(prefix="roam-bench-aware-") as tmp:
        root = Path(tmp)
        with FakeMessagesApi() as api, Cluster(ClusterSpec.load(_SPEC), root / "c") as cluster:
            alpha = cluster["alpha"]
            cwd = root / "work" / "proj"
            cwd.mkdir(parents=True)
            driver = ClaudeDriver(binary=Path(claude).absolute(), base_url=api.base_url)
            session = driver.new(home_of(alpha), cwd, "start").session_id
            cluster.wait_in_sync()
            instant = executable(root / "bin" / "claude", "#!/bin/sh\nexit 0\n")
            env = roam_env(driver, alpha, instant)
            folder = cluster.spec.folder_id
            fresh: list[float] = []
            warm: list[float] = []
            for _ in range(max(3, args.runs // 4)):
                alpha.client.pause(cluster["beta"].device_id)
                alpha.client.resume(cluster["beta"].device_id)
                cluster.wait_connected()
                time.sleep(1.1)  # the connection's startedAt has whole seconds
                started = time.perf_counter()
                seen = await_cluster(
                    alpha.client,
                    folder,
                    alpha.projects_dir,
                    scope=None,
                    timeout_s=30,
                    on_wait=lambda _w: None,
                )
                fresh.append(time.perf_counter() - started)
                assert seen.complete, seen
            for _ in range(args.runs):
                started = time.perf_counter()
                await_cluster(
                    alpha.client,
                    folder,
                    alpha.projects_dir,
                    scope=None,
                    timeout_s=30,
                    on_wait=lambda _w: None,
                )
                warm.append(time.perf_counter() - started)
            by_id: list[float] = []
            newest: list[float] = []
            before: list[float] = []
            old_env = {**env, "PYTHONPATH": str(args.before)} if args.before else env
            for _ in range(args.runs):
                by_id.append(_timed(roam_argv(["cr", session]), cwd=cwd, env=env))
                newest.append(_timed(roam_argv(["cr"]), cwd=cwd, env=env))
                if args.before:
                    before.append(_timed(roam_argv(["cr"]), cwd=cwd, env=old_env))
    print(f"\nawareness in process, p50 / p95 ({args.runs} runs)")
    print(f"   peer already acknowledged (in sync)   {_ms(warm)}")
    print(f"   fresh connection (node-file round trip, {len(fresh)} runs) {_ms(fresh)}")
    print(f"roam cr with claude = true, p50 / p95 ({args.runs} runs each)")
    print(f"   roam cr ID (no awareness check)       {_ms(by_id)}")
    print(f"   roam cr    (awareness check + pick)   {_ms(newest)}")
    extra = (statistics.median(newest) - statistics.median(by_id)) * 1000
    print(f"   difference of the medians: {extra:+.1f} ms")
    if before:
        print(f"   roam cr    before the change           {_ms(before)}")
        change = (statistics.median(newest) - statistics.median(before)) * 1000
        print(f"   roam cr, after minus before (medians): {change:+.1f} ms")
    print(f"after: {_load()}")


if __name__ == "__main__":
    main()
