"""Benchmark ``merge_versions`` on a generated pair of session files of >= 200 MB in total.

Prints the merge time as a ratio to a floor measured in the same run on the same bytes:
reading the files and ``json.loads`` of every line (the least any merge that looks at every
record must do). Each measurement runs in a fresh child process so its peak RSS is its own.

    .venv/bin/python -m bench.merge.run            # 200 MB pair, both scenarios
    .venv/bin/python -m bench.merge.run --mb 50    # a smaller pair

Times are the best of ``--repeat`` runs (the machine may be shared); peak RSS is the worst.

Scenarios: ``conflict`` is the Syncthing case (a long shared history, then each machine went
on alone for 10% of the size); ``conflict-spaced`` is the same written with ``json.dumps``'
default spacing (``", "``, ``": "``) instead of Claude Code's compact JSON; ``disjoint`` has no
shared bytes at all (the first line differs), so every line of both files is parsed: the worst
case. ``end to end`` is ``merge_session`` on the pair laid out as a session and its Syncthing
conflict copy: plan, backup, write, remove, as ``roam conflicts merge`` runs it. ``stale`` (not
run by default) is the common real case: the conflict copy is a byte prefix of the session.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any, Final

_SESSION: Final = "be0c4b00-0000-4000-8000-000000000000"
_WORDS: Final = [
    "the",
    "of",
    "merge",
    "session",
    "turn",
    "record",
    "tool",
    "result",
    "line",
    "file",
    "sync",
    "machine",
]


def _text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    total = 0
    while total < size:
        word = rng.choice(_WORDS)
        words.append(word)
        total += len(word) + 1
    return " ".join(words)


class _Writer:
    """Rows shaped like Claude Code 2.1.331's (sizes taken from the corpus)."""

    def __init__(
        self, rng: random.Random, tail: str | None, clock: float, *, spaced: bool = False
    ) -> None:
        self.separators = (", ", ": ") if spaced else (",", ":")
        self.rng = rng
        self.tail = tail
        self.clock = clock
        self.out: list[bytes] = []

    def _stamp(self) -> str:
        self.clock += self.rng.random() * 2
        whole = int(self.clock)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1795532400 + whole)) + (
            f".{int((self.clock - whole) * 1000):03d}Z"
        )

    def _dump(self, obj: dict[str, Any]) -> None:
        self.out.append(json.dumps(obj, ensure_ascii=False, separators=self.separators).encode())

    def _row(self, kind: str, body: dict[str, Any], parent: str | None = None) -> str:
        uid = str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))
        row: dict[str, Any] = {"parentUuid": parent or self.tail, "isSidechain": False}
        row |= {"type": kind, **body, "uuid": uid, "timestamp": self._stamp()}
        row |= {"userType": "external", "cwd": "/home/u/proj", "sessionId": _SESSION}
        row |= {"version": "2.1.331", "gitBranch": "main"}
        self._dump(row)
        self.tail = uid
        return uid

    def turn(self) -> None:
        rng = self.rng
        prompt = _text(rng, rng.randint(20, 400))
        self._dump({"type": "queue-operation", "operation": "enqueue", "content": prompt})
        self._row("user", {"message": {"role": "user", "content": prompt}})
        for kind in ("environment", "date", "prompt_snapshot"):
            size = 50_000 if kind == "prompt_snapshot" else 600
            self._row("attachment", {"attachment": {"type": kind, "text": _text(rng, size)}})
        self._dump({"type": "api-request-blob", "hash": "h", "message": _text(rng, 9000)})
        for step in range(rng.randint(1, 6)):
            mid = f"msg_{rng.getrandbits(64):x}"
            usage = {"input_tokens": 10, "output_tokens": 3 + step}
            text = {"type": "text", "text": _text(rng, rng.randint(100, 1500))}
            self._row("assistant", {"message": {"id": mid, "content": [text], "usage": usage}})
            holders = []
            for _ in range(rng.randint(0, 2)):
                tid = f"toolu_{rng.getrandbits(64):x}"
                use = {"type": "tool_use", "id": tid, "name": "Bash", "input": {"command": "ls"}}
                body = {"message": {"id": mid, "content": [use], "usage": usage}}
                holders.append((self._row("assistant", body), tid))
            for holder, tid in holders:
                out = _text(rng, rng.randint(50, 3000))
                result = {"type": "tool_result", "tool_use_id": tid, "content": out}
                body = {"message": {"role": "user", "content": [result]}}
                body["toolUseResult"] = {"stdout": out, "stderr": ""}
                self._row("user", body, parent=holder)
        self._dump({"type": "last-prompt", "lastPrompt": prompt, "leafUuid": self.tail})
        self._dump({"type": "cost-state", "totalCostUSD": rng.random(), "modelUsage": {}})

    def grow(self, size: int) -> bytes:
        total = 0
        while total < size:
            before = len(self.out)
            self.turn()
            total += sum(len(line) + 1 for line in self.out[before:])
        return b"".join(line + b"\n" for line in self.out)


def generate(folder: Path, megabytes: int, scenario: str) -> list[Path]:
    """Two versions of one session totalling about ``megabytes`` MB."""
    rng = random.Random(20261125)
    half = megabytes * 1_000_000 // 2
    spaced = scenario.endswith("-spaced")  # json.dumps' default spacing, not Claude Code's
    shared = _Writer(rng, None, 0.0, spaced=spaced)
    base = shared.grow(int(half * 0.9))
    tails: list[bytes] = []
    for number in range(2):
        writer = _Writer(random.Random(number), shared.tail, shared.clock, spaced=spaced)
        tails.append(writer.grow(half - len(base)))
    paths = []
    for number, tail in enumerate(tails):
        head = base
        if scenario == "disjoint":  # one different first line: no shared bytes at all
            head = f'{{"type":"queue-operation","operation":"enqueue","n":{number}}}\n'.encode()
            head += base
        path = folder / f"v{number}.jsonl"
        path.write_bytes(head + tail)
        paths.append(path)
    if scenario == "stale":  # the copy is what the session was before the last turns
        paths[1].write_bytes(base)
    return paths


def _floor(paths: list[Path]) -> None:
    for path in paths:
        for raw in path.read_bytes().split(b"\n"):
            if raw:
                json.loads(raw)


def _merge(paths: list[Path]) -> None:
    from session_roam.merge import Version, merge_versions

    outcome = merge_versions([Version(path.name, path.read_bytes()) for path in paths])
    assert outcome.changed or outcome.report.pure_prefix


def _session_folder(paths: list[Path]) -> tuple[Path, Path]:
    """A projects folder beside ``paths``: the session as ``v0``, a Syncthing conflict copy as
    ``v1``; both are hard links to the generated files, which the merge never rewrites in place
    (it renames a new file over the plain name and unlinks the copy)."""
    import shutil

    root = paths[0].parent / "run"
    shutil.rmtree(root, ignore_errors=True)
    project = root / "projects" / "-home-u-proj"
    project.mkdir(parents=True)
    os.link(paths[0], project / f"{_SESSION}.jsonl")
    os.link(paths[1], project / f"{_SESSION}.sync-conflict-20261125-120000-ABCDEFG.jsonl")
    return root, project


def _end_to_end(project: Path) -> None:
    from session_roam.engine.conflicts.merging import merge_session
    from session_roam.engine.core.store import find_session_files

    result = merge_session(find_session_files(project, _SESSION))
    assert result.status == "merged", result.status


def _child(kind: str, paths: list[Path]) -> None:
    if kind == "e2e":
        root, project = _session_folder(paths)
        os.environ["XDG_STATE_HOME"] = str(root / "state")
        start = time.perf_counter()
        _end_to_end(project)
    else:
        start = time.perf_counter()
        (_floor if kind == "floor" else _merge)(paths)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": elapsed, "peak_rss": peak}))


def _measure(kinds: list[str], paths: list[Path], repeat: int) -> dict[str, dict[str, float]]:
    """Best of ``repeat`` fresh processes per kind, the kinds interleaved so that a load that
    comes and goes (the machine is shared) weighs on each the same: the minimum is the signal."""
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for _ in range(repeat):
        for kind in kinds:
            argv = [sys.executable, "-m", "bench.merge.run", "--child", kind, *map(str, paths)]
            done = subprocess.run(argv, check=True, capture_output=True, text=True)
            runs[kind].append(json.loads(done.stdout))
    return {
        kind: {
            "seconds": min(run["seconds"] for run in found),
            "peak_rss": max(run["peak_rss"] for run in found),
        }
        for kind, found in runs.items()
    }


def _machine() -> str:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--scenarios", nargs="+", default=["conflict", "conflict-spaced", "disjoint"]
    )
    parser.add_argument("--child", choices=["floor", "merge", "e2e"])
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.paths)
        return
    print(f"machine: {_machine()}")
    for scenario in args.scenarios:
        with tempfile.TemporaryDirectory(prefix="roam-bench-") as folder:
            paths = generate(Path(folder), args.mb, scenario)
            size = sum(path.stat().st_size for path in paths)
            measured = _measure(["floor", "merge", "e2e"], paths, args.repeat)
            floor, merge, e2e = measured["floor"], measured["merge"], measured["e2e"]
            print(
                f"{scenario:9s} input {size / 1e6:6.1f} MB | floor (read + json.loads) "
                f"{floor['seconds']:6.2f} s | merge (read + merge) {merge['seconds']:6.2f} s "
                f"= {merge['seconds'] / floor['seconds']:4.2f}x floor, "
                f"{size / 1e6 / merge['seconds']:6.1f} MB/s | peak RSS "
                f"{merge['peak_rss'] / size:4.2f}x input (floor {floor['peak_rss'] / size:4.2f}x)"
            )
            print(
                f"{'':9s} end to end (`roam conflicts merge`: plan, backup, write, remove) "
                f"{e2e['seconds']:6.2f} s = {e2e['seconds'] / floor['seconds']:4.2f}x floor | "
                f"peak RSS {e2e['peak_rss'] / size:4.2f}x input"
            )


if __name__ == "__main__":
    main()
