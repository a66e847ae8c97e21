"""Where a SERVED ``roam cr`` spends its time, phase by phase, on one or more Syncthing versions.

``bench.cr.phases`` times ``roam cr`` in its own process; this one times the cr server's child
(``cli.crserver``, as ``roam watch`` runs it), whose engine ``bench.cr.served_server`` wraps
before the server preloads it. For each version a pair of its own (alpha and beta on
127.0.0.1, a session written by the real claude on alpha, in sync) and a server started in
alpha's environment, as alpha's ``roam watch`` would start it; the runs are interleaved,
version after version, so the load moves all alike. The claude is a stand-in that records
when it started and exited (``--real``: the real claude, ``-p X``).

    ROAM_CLAUDE_BIN=/path/to/claude .venv/bin/python -m bench.cr.served_phases [--runs 9]
        [--version 1.19.2=/usr/bin/syncthing --version 1.29.5=/path/to/syncthing] [--mtu 1500]
        [--code base=/tmp/base/src]

The first table has the median (min) of each phase in ms, with both nodes' Syncthing CPU per
phase; the second each REST request and sleep of the child (numbered by occurrence): median
start, from the child's first moment, and median duration. With ``--real`` each round also
runs ``claude -r ID -p X`` alone, and issue 16's measure is printed paired per round, split
into roam's own time and how much longer claude ran under roam. ``--work S``: the stand-in
works S seconds, then appends a row (the release has bytes to publish). ``--reconnect NAME``:
that pair's connection is cut and made again first. ``--logs DIR`` (with ``STTRACE=model``):
both nodes' Syncthing logs are kept. ``--dump FILE``: every run's phases as JSON. ``--code
NAME=SRC`` (e.g. ``git archive BASE src | tar -x -C /tmp/base``): the session_roam under SRC,
client and server, as one more column per version, and roam's own time compared per round.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tests.e2e.cr_support import executable, home_of, roam_argv, roam_env
from tests.support.claude import ClaudeDriver
from tests.support.fake_api import FakeMessagesApi
from tests.support.netns import in_namespace

from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec

from .paired import against, paired
from .phases import _STAMPER, print_medians
from .run import _QUIET_S, _SPEC, _load, as_installed, warm
from .served_server import cpu_s, members

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

_ROOT: Final = Path(__file__).resolve().parents[2]
#: A scan's ``sub``, cut to its first segment (a session's folder, or ``.roam``): the same
#: step has the same name in every run and every pair.
_SUB: Final = re.compile(r"sub=(\.roam|)[^&]*")
#: The events a long-poll asks for, cut to the first.
_ASKED: Final = re.compile(r"events=([^,&]*)[^&]*")
#: ``run``'s stamp script, with claude's CPU time (the shell's ``times``: its children's).
_STAMP_TIMES: Final = """#!/bin/sh
date +%s.%N > "$ROAM_BENCH_STAMP"
"$ROAM_BENCH_REAL" "$@"
code=$?
date +%s.%N > "$ROAM_BENCH_STAMP.exit"
times > "$ROAM_BENCH_STAMP.times"
printf '%s\\n' "$@" > "$ROAM_BENCH_STAMP.argv"
exit $code
"""
_TIMES: Final = re.compile(r"(\d+)m([\d.]+)s")
_VERSIONS: Final = (
    "1.19.2=/usr/bin/syncthing",
    "1.29.5=/work/main/.cache/syncthing/trixie/usr/bin/syncthing",
)

#: Each version's last run: its REST requests and sleeps, (what, start, end) in epoch seconds.
_LAST: dict[str, list[tuple[str, float, float]]] = {}

Row = dict[str, float]
Calls = dict[str, tuple[float, float]]


@contextlib.contextmanager
def _server(env: Mapping[str, str]) -> Iterator[str]:
    """The timed cr server, listening: the ``XDG_RUNTIME_DIR`` its clients need."""
    runtime = tempfile.mkdtemp(prefix="roam-rt-")  # short: sun_path holds 107 bytes
    path = os.pathsep.join(filter(None, (env.get("PYTHONPATH"), str(_ROOT))))  # --code first
    server_env = {**env, "XDG_RUNTIME_DIR": runtime, "PYTHONPATH": path}
    server_env.pop("ROAM_BENCH_PHASES", None)
    argv = [sys.executable, "-m", "bench.cr.served_server", "--parent", str(os.getpid())]
    process = subprocess.Popen(argv, cwd=_ROOT, env=server_env, stdin=subprocess.DEVNULL)
    sock = Path(runtime, "session-roam", "cr.sock")
    try:
        deadline = time.monotonic() + 60
        while not sock.exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the timed cr server did not start")
            time.sleep(0.05)
        yield runtime
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(runtime, ignore_errors=True)


def _claude_cpu(stamp: Path) -> float:
    """claude's CPU seconds, user + system, from the stamp script's ``times`` (0: not real)."""
    times = Path(f"{stamp}.times")
    if not times.exists():
        return 0.0
    lines = times.read_text().splitlines()
    found = _TIMES.findall(lines[1] if len(lines) > 1 else "")
    return sum(int(minutes) * 60 + float(seconds) for minutes, seconds in found)


def _direct(argv: list[str], cwd: Path, env: dict[str, str], pids: tuple[int, ...]) -> Row:
    """``claude -r ID -p X`` alone (the stamp script around it): the reference."""
    stamp = Path(env["ROAM_BENCH_STAMP"])
    cpu, spawned = cpu_s(pids), time.time()
    subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=True,
    )
    ended = time.time()
    started, exited = float(stamp.read_text()), float(Path(f"{stamp}.exit").read_text())
    return {
        "claude -r ID -p X alone (spawn -> exit)": ended - spawned,
        "its claude (start -> exit)": exited - started,
        "its claude's CPU": _claude_cpu(stamp),
        "its Syncthing CPU, both nodes": cpu_s(pids) - cpu,
    }


@contextlib.contextmanager
def _watching(env: Mapping[str, str], cwd: Path) -> Iterator[None]:
    """``roam watch`` on this node, its own cr server off: the watcher, heal and heartbeat
    a served ``roam cr`` runs beside."""
    watch = subprocess.Popen(
        roam_argv(["watch"]),
        cwd=cwd,
        env={**env, "ROAM_CR_SERVER": "0"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)  # started and watching
        if watch.poll() is not None:
            raise SystemExit(f"roam watch ended at once ({watch.returncode})")
        yield
    finally:
        watch.terminate()
        watch.wait(timeout=30)


def _one_run(
    argv: list[str], cwd: Path, env: dict[str, str], work: Path, pids: tuple[int, ...]
) -> tuple[Row, Calls]:
    phases, stamp = work / "phases.json", work / "stamp"
    phases.unlink(missing_ok=True)
    env = {**env, "ROAM_BENCH_PHASES": str(phases), "ROAM_BENCH_STAMP": str(stamp)}
    cpu, spawned = cpu_s(pids), time.time()
    done = subprocess.run(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120
    )
    ended = time.time()
    syncthing_cpu = cpu_s(pids) - cpu
    if done.returncode != 0 or not phases.exists():
        raise SystemExit(f"served roam cr failed ({done.returncode}):\n{done.stderr.decode()}")
    data = json.loads(phases.read_text())
    claude_start = float(stamp.read_text())
    claude_exit = float(Path(f"{stamp}.exit").read_text())
    events: dict[str, tuple[float, float]] = {}
    row: Row = defaultdict(float)
    row["total (client spawn -> client exit)"] = ended - spawned
    for name, start, end in data["events"]:
        events.setdefault(name, (start, end))
        if not name.startswith(("server:", "child:", "cpu: ")):
            row[name] += end - start
    accept = events["server: peer credentials"][0]
    child = events["server: fork"][1]
    row["client spawn -> server accepts"] = accept - spawned
    for name in ("server: peer credentials", "server: fingerprint", "server: fork"):
        row[name] = events[name][1] - events[name][0]
    row["child: fork -> handshake done (go)"] = events["child: adopt"][0] - child
    row["child: adopt"] = events["child: adopt"][1] - events["child: adopt"][0]
    row["child: run_fast_cr -> claude launch request"] = (
        events["child: launch (client runs claude)"][0] - events["child: run_fast_cr"][0]
    )
    row["launch request -> claude starts"] = (
        claude_start - events["child: launch (client runs claude)"][0]
    )
    row["== client spawn -> claude starts"] = claude_start - spawned
    row["claude exit -> child's launcher returns"] = (
        events["child: launch (client runs claude)"][1] - claude_exit
    )
    row["child: launcher returns -> record written"] = (
        data["exit"] - events["child: launch (client runs claude)"][1]
    )
    row["== claude exit -> client exit"] = ended - claude_exit
    row["claude (start -> exit)"] = claude_exit - claude_start
    row["Syncthing CPU, both nodes"] = syncthing_cpu
    row["claude's CPU"] = _claude_cpu(stamp)
    used = {name: start for name, start, _ in data["events"] if name.startswith("cpu: ")}
    if used:
        row["Syncthing CPU, cr start -> launch"] = (
            used["cpu: launch start"] - used["cpu: run_fast_cr start"]
        )
        row["Syncthing CPU, while claude runs"] = (
            used["cpu: launch end"] - used["cpu: launch start"]
        )
        row["Syncthing CPU, claude exit -> cr end"] = (
            used["cpu: run_fast_cr end"] - used["cpu: launch end"]
        )
    _LAST[work.name] = [(what, start, end) for what, start, end in data["calls"]]
    seen: dict[str, int] = defaultdict(int)
    calls: Calls = {}
    for call, start, end in data["calls"]:
        what = _SUB.sub(lambda m: f"sub={m[1] or 'session'}…", call)
        what = _ASKED.sub(r"events=\1…", what)
        seen[what] += 1
        calls[f"{what} #{seen[what]}"] = (start - child, end - start)
    return row, calls


def _keep_logs(cluster: Cluster, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for node in cluster.nodes:
        if node.process is not None:
            shutil.copyfile(node.process.log_path, into / f"{node.name}.log")


def _versions(given: list[str] | None) -> dict[str, str]:
    found = {}
    for item in given or _VERSIONS:
        name, _, binary = item.partition("=")
        if not os.access(binary, os.X_OK):
            raise SystemExit(f"--version {item}: {binary} is not an executable")
        found[name] = binary
    return found


def _cases(versions: Mapping[str, str], codes: list[str] | None) -> list[tuple[str, str, str]]:
    """(column, Syncthing binary, PYTHONPATH for roam): each version, with the code installed
    here, and then with each ``--code NAME=SRC`` (column ``VERSION:NAME``)."""
    found = [(name, binary, "") for name, binary in versions.items()]
    for item in codes or ():
        code, _, source = item.partition("=")
        if not Path(source, "session_roam", "__init__.py").is_file():
            raise SystemExit(f"--code {item}: {source} holds no session_roam package")
        found += [
            (f"{name}:{code}", binary, str(Path(source).resolve()))
            for name, binary in versions.items()
        ]
    return found


def _print(rows: Mapping[str, list[Row]], calls: Mapping[str, list[Calls]]) -> None:
    print(f"  {'median (min) ms':46s} " + " ".join(f"{v:>14s}" for v in rows))
    print_medians(rows, width=46, cell="{:6.1f} ({:5.1f})", cell_width=14)
    print("\nThe child's REST requests and sleeps: median start from the child's first moment")
    print("(ms) / median duration (ms), in how many runs it happened")
    keys: dict[str, float] = {}
    for timed in calls.values():
        for run in timed:
            for key, (first, _) in run.items():
                keys.setdefault(key, first)
    print(f"  {'':52s} " + " ".join(f"{v:>22s}" for v in calls))
    for key in sorted(keys, key=keys.__getitem__):
        cells = []
        for timed in calls.values():
            got = [run[key] for run in timed if key in run]
            if not got:
                cells.append(f"{'-':>22s}")
                continue
            at = statistics.median(a for a, _ in got) * 1000
            took = statistics.median(t for _, t in got) * 1000
            cells.append(f"{at:7.1f} / {took:6.1f} ({len(got):2d})")
        print(f"  {key[:52]:52s} " + " ".join(f"{cell:>22s}" for cell in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--version", action="append", help="NAME=SYNCTHING_BINARY, repeatable")
    parser.add_argument("--real", action="store_true", help="the real claude, sent -p X")
    parser.add_argument(
        "--work", type=float, default=0.0, help="seconds the stand-in works, then appends a row"
    )
    parser.add_argument("--mtu", type=int, help="in a private namespace, loopback MTU")
    parser.add_argument(
        "--reconnect",
        action="append",
        default=[],
        help="NAME: that pair's connection cut and made again before the runs (one "
        "ClusterConfig each way, as after a restart); a NAME may be given twice in --version",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="a roam watch (not serving: ROAM_CR_SERVER=0) on each alpha, as bench.cr.run has",
    )
    parser.add_argument(
        "--code",
        action="append",
        help="NAME=SRC: also run the session_roam package under SRC (e.g. an older commit's "
        "src, from git archive), as its own column per version, interleaved; repeatable",
    )
    parser.add_argument("--dump", help="write every run's phases (JSON) to this file")
    parser.add_argument("--logs", help="copy every node's Syncthing log here (with STTRACE set)")
    args = parser.parse_args()
    in_namespace("bench.cr.served_phases", args.mtu)
    versions = _versions(args.version)
    claude = os.environ.get("ROAM_CLAUDE_BIN")
    if not claude:
        raise SystemExit("Set ROAM_CLAUDE_BIN to the pinned claude binary.")
    print(f"before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="roam-bench-served-") as tmp, FakeMessagesApi() as api:
        root = Path(tmp)
        driver = ClaudeDriver(binary=Path(claude).absolute(), base_url=api.base_url)
        stamper = executable(root / "bin" / "claude", _STAMP_TIMES if args.real else _STAMPER)
        with contextlib.ExitStack() as stack:
            cases = {}
            for name, binary, source in _cases(versions, args.code):
                cluster = stack.enter_context(
                    Cluster(ClusterSpec.load(_SPEC), root / name / "cluster", binary=binary)
                )
                alpha = cluster["alpha"]
                cwd = root / name / "proj"
                cwd.mkdir()
                session = driver.new(home_of(alpha), cwd, "start").session_id
                if name in args.reconnect:
                    cluster.pause("alpha")
                    cluster.resume("alpha")
                cluster.wait_in_sync()
                env = as_installed(roam_env(driver, alpha, stamper), root / "pycache")
                env["ROAM_BENCH_REAL"] = str(Path(claude).absolute())
                if source:
                    env["PYTHONPATH"] = source
                pids = members(
                    tuple(
                        node.process.pid
                        for node in cluster.nodes
                        if node.process and node.process.pid
                    )
                )
                env["ROAM_BENCH_PIDS"] = ",".join(map(str, pids))
                if args.work:  # a short turn: the release has new bytes to stamp and publish
                    (session_file,) = alpha.projects_dir.glob(f"*/{session}.jsonl")
                    env.update(
                        ROAM_BENCH_WORK_S=str(args.work), ROAM_BENCH_SESSION_FILE=str(session_file)
                    )
                cases[name] = (session, cwd, env, pids)
                if args.watch:
                    stack.enter_context(_watching(env, cwd))
                if args.logs:
                    stack.callback(_keep_logs, cluster, Path(args.logs) / name)
            for case in cases.values():
                warm(case[2])
            # each pair's alpha its own server, in its environment, as its roam watch would be
            # (the server keeps a connection to the Syncthing that environment names)
            runtimes = {name: stack.enter_context(_server(case[2])) for name, case in cases.items()}
            rows: dict[str, list[Row]] = {name: [] for name in cases}
            calls: dict[str, list[Calls]] = {name: [] for name in cases}
            for i in range(args.runs + 1):  # the first round warms the server's first forks
                for name, (session, cwd, env, pids) in cases.items():
                    time.sleep(_QUIET_S)  # past the watcher and Syncthing's 250 ms index pause
                    prompt = ["--", "-p", f"run {i}"] if args.real else []
                    argv = roam_argv(["cr", session, *prompt])
                    served = {**env, "XDG_RUNTIME_DIR": runtimes[name]}
                    row, run_calls = _one_run(argv, cwd, served, root / name, pids)
                    told = root / name / "stamp.argv"
                    if not i and told.exists() and args.logs:
                        print(f"{name}: roam ran claude with {told.read_text().split()}")
                    if args.real:
                        time.sleep(_QUIET_S)
                        stamped = {**env, "ROAM_BENCH_STAMP": str(root / name / "stamp")}
                        direct = [str(stamper), "-r", session, "-p", f"direct {i}"]
                        row.update(_direct(direct, cwd, stamped, pids))
                    if i:
                        rows[name].append(row)
                        calls[name].append(run_calls)
    kind = "the real claude -p X" if args.real else "a stamp script"
    kind += f" working {args.work:g} s" if args.work and not args.real else ""
    print(f"\nserved roam cr ID, claude = {kind}, {args.runs} runs per version, interleaved")
    _print(rows, calls)
    if args.dump:
        Path(args.dump).write_text(json.dumps({"rows": rows, "calls": calls}))
    if args.real:
        paired(rows)
    against(rows)
    if args.logs:  # to read beside the Syncthing logs, whose clock is the local time
        for name, last in _LAST.items():
            print(f"\n{name}, the last run's requests (local time, ms):")
            for what, start, end in last:
                clock = time.strftime("%H:%M:%S", time.localtime(start))
                print(f"  {clock}.{int(start % 1 * 1e6):06d} {(end - start) * 1000:6.1f}  {what}")
    print(f"\nafter: {_load()} (the machine's other work shows in these figures)")


if __name__ == "__main__":
    main()
