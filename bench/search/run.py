"""Benchmark ``roam cf``: index build, incremental re-index, warm query latency, and references.

    python bench/search/run.py                     # 1 GB, 5,000 sessions (the README figures)
    python bench/search/run.py --mb 100 --sessions 1000   # quicker

Everything runs in one temp dir: a generated corpus (bench/search/corpus.py), a fresh XDG cache.
References measured in the same run, on the same files: ``rg -l -F WORD`` and the bare
interpreter (``python -c pass``) and ``python -c "import _sqlite3"``, the floor of any Python
command that opens an SQLite file. The first build runs twice, in one process and with parsing
in worker processes, to show which wins on the machine as loaded.
End-to-end figures run the ``roam cf --json`` process two ways: the proposed fast entry point
(``python -m session_roam.cli.fast``) and today's console script (the full typer app).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import COMMON_WORD, RARE_WORD, append_turns, generate

from session_roam.engine.core.paths import project_slug
from session_roam.engine.sessions import search_extract
from session_roam.engine.sessions.search import search_sessions
from session_roam.engine.sessions.search_index import INDEX_NAME, SearchIndex
from session_roam.engine.sessions.search_query import run_query


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _fmt(samples: list[float]) -> str:
    return (
        f"min {min(samples) * 1000:6.1f} ms  p50 {_pct(samples, 0.5) * 1000:7.1f} ms  "
        f"p95 {_pct(samples, 0.95) * 1000:7.1f} ms"
    )


def _time_process(argv: list[str], env: dict[str, str], cwd: Path, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--projects",
        type=int,
        help="Projects the sessions are spread over (one per 50 when unset).",
    )
    parser.add_argument("--keep", action="store_true", help="Leave the temp dir behind.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="roam-bench-search-"))
    try:
        _bench(work, args.mb, args.sessions, args.runs, args.projects)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _before_scoped(db: sqlite3.Connection, word: str, scope: frozenset[str] | None, _: int) -> int:
    """The scoped query before issue 16's fix: every matching row of the scope scored."""
    assert scope is not None
    return len(
        db.execute(
            "SELECT chunks.rowid, bm25(chunks), r.file_id, r.ts, r.role FROM chunks"
            " JOIN rows AS r ON r.id = chunks.rowid JOIN files AS f ON f.id = r.file_id"
            " WHERE chunks MATCH ? AND f.project IN (?)",
            (word, *scope),
        ).fetchall()
    )


def _bench(work: Path, mb: int, sessions: int, runs: int, projects: int | None) -> None:
    config, cache = work / "claude", work / "cache" / "session-roam"
    cache.mkdir(parents=True)
    code = (work / "code").resolve()
    here = code / "project-000"  # where the scoped `roam cf` runs: the first project
    here.mkdir(parents=True)
    scope = frozenset({project_slug(str(here))})
    start = time.perf_counter()
    corpus = generate(
        config, sessions=sessions, target_bytes=mb * 1024 * 1024, projects=projects, code=str(code)
    )
    held = sum(1 for path in corpus.files if path.parent.name in scope)
    print(
        f"corpus: {len(corpus.files)} sessions, {corpus.total_bytes / 2**20:.0f} MB, "
        f"{corpus.rare_sessions} with the rare word, {held} in the scoped search's project "
        f"(generated in {time.perf_counter() - start:.0f} s)"
    )
    root = config / "projects"
    nproc = os.cpu_count()
    print(f"machine: {nproc} cores, python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")

    start = time.perf_counter()
    subprocess.run(["rg", "-l", "-F", "zzzqqq", str(root)], check=False, stdout=subprocess.DEVNULL)
    rg_all = time.perf_counter() - start
    # The same first build twice, in one process and with parsing in worker processes
    # (search_extract), in the same run: which wins on this machine, as it is loaded now.
    pool_bytes = search_extract._POOL_BYTES  # the bench's switch
    for mode, threshold in (("one process", 2**62), ("parse in workers", pool_bytes)):
        search_extract._POOL_BYTES = threshold
        (cache / INDEX_NAME).unlink(missing_ok=True)
        index = SearchIndex(cache / INDEX_NAME)
        load = os.getloadavg()[0]
        cpu = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        stats = index.refresh(root)
        build = time.perf_counter() - start
        after = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        writer, workers = (
            a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime
            for a, b in zip(after, cpu, strict=True)
        )
        db_mb = (cache / INDEX_NAME).stat().st_size / 2**20
        per_gb = build / (stats.bytes_read / 2**30)
        print(
            f"build, {mode}: {stats.bytes_read / 2**20:.0f} MB in {build:.1f} s = "
            f"{stats.bytes_read / 2**20 / build:.1f} MB/s, {per_gb:.1f} s per GB (goal <= 10 s: "
            f"{'met' if per_gb <= 10 else 'missed'}); CPU: writer {writer:.1f} s, workers "
            f"{workers:.1f} s; index {db_mb:.0f} MB; {build / rg_all:.1f}x rg over every byte "
            f"({rg_all:.2f} s); load {load:.1f}"
        )
        if mode == "one process":
            index.close()
    start = time.perf_counter()
    index.refresh(root)
    print(f"no-op refresh (stat every file): {(time.perf_counter() - start) * 1000:.1f} ms")
    touched = list(corpus.files[:: max(1, len(corpus.files) // max(1, len(corpus.files) // 100))])
    touched = touched[: max(1, len(corpus.files) // 100)]
    added = append_turns(touched)
    start = time.perf_counter()
    stats = index.refresh(root)
    incr = time.perf_counter() - start
    print(
        f"incremental: {len(touched)} sessions (1%), {added / 2**20:.2f} MB appended, "
        f"{stats.bytes_read / 2**20:.2f} MB read, {incr * 1000:.0f} ms "
        f"({stats.bytes_read / 2**20 / incr:.1f} MB/s)"
    )
    index.close()

    env = {
        **os.environ,
        "CLAUDE_CONFIG_DIR": str(config),
        "XDG_CACHE_HOME": str(work / "cache"),
        "XDG_CONFIG_HOME": str(work / "config"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed roam runs: bytecode cached
    # The fast path's walking search: an explicit --claude-dir is never the warm search's.
    fast_argv = [sys.executable, "-m", "session_roam.cli.fast", "--claude-dir", str(config)]
    fast_argv += ["cf", "--json", "--all"]
    # What the `roam` console script runs (cli/fast.py), without `-m`'s runpy on top.
    warm = "import sys; from session_roam.cli.fast import main; sys.argv[0] = 'roam'; main()"
    warm_argv = [sys.executable, "-c", warm, "cf", "--json", "--all"]
    scoped_argv = [sys.executable, "-c", warm, "cf", "--json"]  # this directory's sessions
    app = "import sys; from session_roam.cli.app import main; sys.argv[0] = 'roam'; main()"
    full_argv = [sys.executable, "-c", app, "cf", "--json", "--all"]
    for label, word in (("rare", RARE_WORD), ("common", COMMON_WORD)):
        inproc = []
        query_only: list[float] = []
        scoped: list[float] = []
        before: list[float] = []
        index = SearchIndex(cache / INDEX_NAME)
        for _ in range(runs * 2):
            t0 = time.perf_counter()
            search_sessions([word], projects_root=root, cache_dir=cache, limit=20)
            inproc.append(time.perf_counter() - t0)
            for samples, query, where in (
                (query_only, run_query, None),
                (scoped, run_query, scope),
                (before, _before_scoped, scope),
            ):
                t0 = time.perf_counter()
                query(index.db, word, where, 20)
                samples.append(time.perf_counter() - t0)
        index.close()
        print(f"{label:6} query only (in process)              {_fmt(query_only)}")
        print(f"{label:6} scoped query only (in process)       {_fmt(scoped)}")
        print(f"{label:6} scoped, before issue 16's fix        {_fmt(before)}")
        print(f"{label:6} walk + query (in process)            {_fmt(inproc)}")
        walking = _time_process([*fast_argv, word], env, work, runs)
        print(f"{label:6} roam cf --json, fast path, walking    {_fmt(walking)}")
        full = _time_process([*full_argv, word], env, work, 3)
        print(f"{label:6} roam cf --json, full app (process)    {_fmt(full)}")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import _sqlite3'": [sys.executable, "-c", "import _sqlite3"],
            "roam cf --json, warm": [*warm_argv, word],
            "roam cf --json, warm, scoped": [*scoped_argv, word],
            "rg -l -F": ["rg", "-l", "-F", word, str(root)],
        }
        with _watcher(root, cache, corpus.files[0], env):
            search_sessions([word], projects_root=root, cache_dir=cache, limit=1)  # one walk
            load = os.getloadavg()[0]
            times = _interleaved(commands, env, here, runs)  # in turn: the same load for all
        for name, samples in times.items():
            print(f"{label:6} {name:<36} {_fmt(samples)}  (interleaved, load {load:.1f})")
        bare, cf, rg = (
            _pct(times[n], 0.5) for n in ("python -c pass", "roam cf --json, warm", "rg -l -F")
        )
        print(
            f"{label:6} warm cf, p50 of interleaved runs: {cf / bare:.2f}x python -c pass "
            f"(goal <= 1.5x: {'met' if cf <= 1.5 * bare else 'missed'}), rg -l / cf {rg / cf:.2f}x "
            f"(goal > 1: {'met' if rg > cf else 'missed'}); walking cf "
            f"{_pct(walking, 0.5) / bare:.1f}x, full app {_pct(full, 0.5) / bare:.1f}x"
        )
        near = _pct(times["roam cf --json, warm, scoped"], 0.5)
        print(
            f"{label:6} warm scoped cf (this directory's {held} sessions), p50 of interleaved "
            f"runs: {near / bare:.2f}x python -c pass (goal <= 1.5x: "
            f"{'met' if near <= 1.5 * bare else 'missed'}); {near / cf:.2f}x the warm --all"
        )


def _interleaved(
    commands: dict[str, list[str]], env: dict[str, str], cwd: Path, runs: int
) -> dict[str, list[float]]:
    """Each command ``runs`` times, in turn (after one warm-up each)."""
    for argv in commands.values():
        subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, check=False)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, check=False)
            times[name].append(time.perf_counter() - start)
    return times


@contextlib.contextmanager
def _watcher(root: Path, cache: Path, seen: Path, env: dict[str, str]) -> Iterator[None]:
    """A process that does what ``roam watch`` does for the index: refresh what it saw change,
    then stay alive (the watch loop's file events, without watchdog)."""
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


if __name__ == "__main__":
    main()
