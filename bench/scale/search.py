"""Benchmark ``roam cf`` at scale: the first index of every session, then the warm search.

    python -m bench.scale.make 50000 /tmp/scale/claude        # once: 50k sessions, ~6-7 GB
    python -m bench.scale.search /tmp/scale/claude            # first index, warm cf, references

Issue 21's goals at 50,000 sessions: a first index of everything in <= 30 s (with a progress
bar: ``roam cf`` on a terminal), and a warm ``roam cf`` (``roam watch`` running) in <= 0.15 s
and <= 5x the interpreter's start-up; issue 16's: warm ``cf`` <= 1.5x the interpreter and
faster than ``rg -l``. Every figure is measured as its own process, interleaved with its
references in the same run (``python -c pass`` of the same interpreter, ``python -c "import
_sqlite3"``, the floor of any Python program that opens an SQLite file, and ``rg -l -F``), and
printed with its ratio and verdict. A rare word is planted in 5 sessions (one user row appended
to each) unless it is there already; the index is built in a fresh cache folder beside the
corpus, removed afterwards unless ``--keep-cache``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

RARE: Final = "quetzalcoatlus"
COMMON: Final = "the"
_ROW: Final = (
    '{"type":"user","message":{"role":"user","content":"we saw a %s in the logs"},'
    '"timestamp":"2026-12-06T12:00:00.000Z","cwd":"/home/user/code/x"}\n'
)


def plant(root: Path, word: str = RARE, sessions: int = 5) -> None:
    """``word`` in ``sessions`` sessions spread over the corpus (once: kept for the next run)."""
    files = sorted(root.glob("*/*.jsonl"))
    marker = root.parent / f".planted-{word}"
    if marker.exists() or not files:
        return
    for path in files[:: max(1, len(files) // sessions)][:sessions]:
        with path.open("a") as handle:
            handle.write(_ROW % word)
    marker.write_text("")


def interleaved(
    commands: dict[str, list[str]], env: dict[str, str], runs: int
) -> dict[str, list[float]]:
    """Wall seconds of each command, run in turn ``runs`` times (after one warm-up each)."""
    for argv in commands.values():
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            samples[name].append(time.perf_counter() - started)
    return samples


@contextlib.contextmanager
def watcher(root: Path, cache: Path, env: dict[str, str]) -> Iterator[None]:
    """What ``roam watch`` does for the index (``refresh_search_index`` of what it saw change,
    recording itself as the watcher), then stays alive: warm queries trust the index."""
    seen = next(root.glob("*/*.jsonl"))
    code = (
        "import sys, time; from pathlib import Path; "
        "from session_roam.engine.sessions import refresh_search_index; "
        "refresh_search_index(Path(sys.argv[1]), [Path(sys.argv[2])], Path(sys.argv[3])); "
        "print('ready', flush=True); time.sleep(3600)"
    )
    argv = [sys.executable, "-c", code, str(root), str(seen), str(cache)]
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        child.stdout.readline()
        yield
    finally:
        child.kill()
        child.wait()


def _roam() -> list[str]:
    script = Path(sys.executable).with_name("roam")  # the console script pip installed
    return [str(script)] if script.exists() else [sys.executable, "-m", "session_roam"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("claude_dir", type=Path)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep-cache", action="store_true")
    args = parser.parse_args(argv)
    root = args.claude_dir / "projects"
    plant(root)
    work = args.claude_dir.parent / "search-bench"
    shutil.rmtree(work, ignore_errors=True)
    (work / "cache").mkdir(parents=True)
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(args.claude_dir)}
    env |= {"XDG_CACHE_HOME": str(work / "cache"), "XDG_CONFIG_HOME": str(work / "config")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed roam runs: bytecode cached
    cache = work / "cache" / "session-roam"
    files = sum(1 for _ in root.glob("*/*.jsonl"))
    size = sum(p.stat().st_size for p in root.glob("*/*.jsonl"))
    roam = _roam()
    try:
        print(
            f"{files:,} sessions, {size / 1e9:.2f} GB; {os.cpu_count()} cores, load "
            f"{os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}; roam = {roam[0]}"
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [*roam, "cf", "--json", "--all", RARE], env=env, stdout=subprocess.DEVNULL, check=False
        )
        build = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        verdict = "met" if build <= 30 else "missed"
        print(
            f"first index (roam cf, fresh cache): {build:.1f} s = {size / 1e6 / build:.0f} MB/s "
            f"(goal <= 30 s at 50k: {verdict}; load {os.getloadavg()[0]:.2f}); CPU {cpu:.1f} s "
            f"(roam and its workers: {cpu / build:.2f} cores busy on average)"
        )
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import _sqlite3'": [sys.executable, "-c", "import _sqlite3"],
            "roam cf --json --all RARE": [*roam, "cf", "--json", "--all", RARE],
            "roam cf --json --all COMMON": [*roam, "cf", "--json", "--all", COMMON],
            "rg -l -F RARE": ["rg", "-l", "-F", RARE, str(root)],
            "rg -l -F COMMON": ["rg", "-l", "-F", COMMON, str(root)],
        }
        with watcher(root, cache, env):
            subprocess.run(
                [*roam, "cf", "--json", "--all", RARE],
                env=env,
                stdout=subprocess.DEVNULL,
                check=False,
            )  # the walk after it started
            samples = interleaved(commands, env, args.runs)
        print(f"warm, interleaved, {args.runs} runs each (load {os.getloadavg()[0]:.2f}):")
        base = statistics.median(samples["python -c pass"])
        for name, values in samples.items():
            p50 = statistics.median(values)
            print(
                f"  {name:<30} p50 {p50 * 1000:7.1f} ms  min {min(values) * 1000:7.1f} ms  "
                f"{p50 / base:5.2f}x python -c pass"
            )
        for word in ("RARE", "COMMON"):
            cf = statistics.median(samples[f"roam cf --json --all {word}"])
            rg = statistics.median(samples[f"rg -l -F {word}"])
            ok16 = cf <= 1.5 * base and cf < rg
            ok21 = cf <= 0.15 and cf <= 5 * base
            print(
                f"  {word.lower()}: {cf / base:.2f}x the interpreter, rg / cf {rg / cf:.2f}x; "
                f"issue 16 (<= 1.5x, faster than rg): {'met' if ok16 else 'missed'}; "
                f"issue 21 (<= 0.15 s, <= 5x): {'met' if ok21 else 'missed'}"
            )
    finally:
        if not args.keep_cache:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
