"""Benchmark roam at 1k / 10k (/ 50k) sessions: ls, ls --json, verify, watch idle, with references.

    python -m bench.scale.run                 # 1,000 and 10,000 sessions
    python -m bench.scale.run --sizes 1000 10000 50000 --keep /tmp/scale   # the 50k point too,
                                              # with issue 21's goals and whether each is met

Each size gets a corpus from ``bench.scale.make`` (kept and reused under ``--keep``) and its own
XDG folders, with every session file hard-linked into roam's archive as a user's is (unless
``--no-archive``): ``roam verify``'s deletion check walks it. Every figure is printed with its
ratio to references measured in the same run on the same files: ``find DIR | wc -l`` (the stat
walk floor), ``python -c pass`` (the interpreter), and the JSON parse floor (``json.load`` of
the ``ls --json`` document in a fresh interpreter). Figures are wall seconds, best of
``--repeat``; peak RSS of the roam process. The figures marked "watched" run while a stand-in
for ``roam watch`` keeps the summary cache current (``_watcher_standin``): readers then skip
their walk (``engine/sessions/summary_fresh``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from .make import make

if TYPE_CHECKING:
    from collections.abc import Iterator

_ROAM: Final = [sys.executable, "-m", "session_roam"]


def _run(argv: list[str], env: dict[str, str], *, stdout: int | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _pid, _status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, int(usage.ru_maxrss)


def _best(argv: list[str], env: dict[str, str], repeat: int) -> tuple[float, int]:
    runs = [_run(argv, env) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def _first_screen(argv: list[str], env: dict[str, str], lines: int = 40) -> float:
    """Seconds until the first ``lines`` lines of output arrive."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    for _ in range(lines):
        if not proc.stdout.readline():
            break
    took = time.perf_counter() - started
    proc.stdout.close()
    proc.wait()
    return took


def _append(root: Path, count: int) -> None:
    """A turn appended to ``count`` sessions, as a day of work would."""
    files = sorted(root.glob("projects/*/*.jsonl"))[:count]
    for path in files:
        with path.open("ab") as handle:
            handle.write(
                b'{"type":"user","message":{"role":"user","content":"one more question"},'
                b'"timestamp":"2026-12-06T12:00:00.000Z","cwd":"/home/user/code/x"}\n'
            )


def _archive(claude: Path, home: Path) -> None:
    """Every session file hard-linked into roam's archive, as a user's archive holds them
    (``engine/deletions/archive``): what ``roam verify``'s deletion check walks."""
    archive = home / "state" / "session-roam" / "archive"
    if archive.is_dir() and any(archive.iterdir()):
        return
    archive.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-al", f"{claude / 'projects'}/.", f"{archive}/"], check=True)


def bench_size(count: int, base: Path, repeat: int, *, archive: bool = True) -> dict[str, float]:
    home = base / f"n{count}"
    claude = home / "claude"
    if not (claude / "projects").is_dir():
        make(count, claude)
    if archive:
        _archive(claude, home)
    env = {
        **os.environ,
        "CLAUDE_CONFIG_DIR": str(claude),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "HOME": str(home),
    }
    for folder in ("cache", "config", "state"):
        (home / folder).mkdir(exist_ok=True)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed roam has its bytecode
    for suffix in ("", "-wal", "-shm", ".untrusted"):
        (home / "cache" / "session-roam" / f"summaries.sqlite{suffix}").unlink(missing_ok=True)
    out: dict[str, float] = {}
    find_s, _ = _best(["sh", "-c", f"find {claude} | wc -l"], env, repeat)
    out["ref find|wc -l"] = find_s
    out["ref python -c pass"], _ = _best([sys.executable, "-c", "pass"], env, repeat)
    out["ls --all --json (cold cache)"], _ = _run([*_ROAM, "ls", "--all", "--json"], env)
    out["ls --all --json"], rss = _best([*_ROAM, "ls", "--all", "--json"], env, repeat)
    out["ls --all --json peak MB"] = rss / 1024
    doc = home / "ls.json"
    with doc.open("wb") as handle:
        subprocess.run([*_ROAM, "ls", "--all", "--json"], env=env, stdout=handle, check=True)
    parse = f"import json; json.load(open({str(doc)!r}))"
    out["ref JSON parse floor"], _ = _best([sys.executable, "-c", parse], env, repeat)
    out["ls --all (text, piped)"], _ = _best([*_ROAM, "ls", "--all"], env, repeat)
    out["ls --all first 40 lines"] = min(
        _first_screen([*_ROAM, "ls", "--all"], env) for _ in range(repeat)
    )
    out["verify"], rss = _best([*_ROAM, "verify", "--json"], env, repeat)
    out["verify peak MB"] = rss / 1024
    _append(claude, 100)
    out["ls --all --json after 100 appends"], _ = _run([*_ROAM, "ls", "--all", "--json"], env)
    _append(claude, 100)
    out["verify after 100 appends"], _ = _run([*_ROAM, "verify", "--json"], env)
    with _watcher_standin(claude, env):
        # the first listing after the watcher began walks (and records the walk); then none
        out["ls --all --json, watched: 1st"], _ = _run([*_ROAM, "ls", "--all", "--json"], env)
        out["ls --all --json, watched"], rss = _best([*_ROAM, "ls", "--all", "--json"], env, repeat)
        out["ls --all --json, watched, peak MB"] = rss / 1024
        out["ls --all, watched"], _ = _best([*_ROAM, "ls", "--all"], env, repeat)
        out["ls --all first 40 lines, watched"] = min(
            _first_screen([*_ROAM, "ls", "--all"], env) for _ in range(repeat)
        )
        out["verify, watched"], _ = _best([*_ROAM, "verify", "--json"], env, repeat)
    return out


#: What ``roam watch`` does on each change it hears (``Watcher._refresh_summary``): refresh the
#: summary cache's rows of that project, recording itself as the cache's watcher. The stand-in
#: does it once and stays alive; the real watcher's start-up catch-up (a minute at 50k) and its
#: events are not what is measured here.
_STANDIN: Final = """
import sys, time
from pathlib import Path
from session_roam.engine.sessions.summary_cache import open_cache
with open_cache() as cache:
    cache.refresh(Path(sys.argv[1]), (sys.argv[2],), watcher=True)
print("watching", flush=True)
time.sleep(3600)
"""


@contextlib.contextmanager
def _watcher_standin(claude: Path, env: dict[str, str]) -> Iterator[None]:
    """A live watcher of ``claude``'s projects while the block runs."""
    projects = claude / "projects"
    first = min(p.name for p in projects.iterdir())
    argv = [sys.executable, "-c", _STANDIN, str(projects), first]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        yield
    finally:
        proc.kill()
        proc.wait()


#: Issue 21's goals at 50,000 sessions: (figure, at most, unit).
GOALS: Final = (
    ("ls --all --json", 1.0, "s"),
    ("ls --all --json peak MB", 100.0, "MB"),
    ("ls --all first 40 lines", 0.3, "s"),
    ("ls --all first 40 lines, watched", 0.3, "s"),
    ("verify", 2.0, "s"),
    ("verify, watched", 2.0, "s"),
)


def _cell(row: dict[str, float], name: str) -> str:
    if name.endswith("MB"):
        return f"{row[name]:>18.0f}"
    return f"{row[name]:>10.3f} (x{row[name] / row['ref find|wc -l']:4.1f})"


def verdicts(row: dict[str, float]) -> list[str]:
    """One line per goal: the figure, the goal, met or not."""
    lines = []
    for name, limit, unit in GOALS:
        met = "met" if row[name] <= limit else "NOT met"
        lines.append(f"{name:<36} {row[name]:8.3f} {unit} (goal <= {limit:g} {unit}): {met}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) corpora here")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-archive",
        action="store_true",
        help="leave roam's archive empty (by default every session file is in it, as in use)",
    )
    args = parser.parse_args(argv)
    sizes = args.sizes
    with tempfile.TemporaryDirectory(prefix="roam-scale-") as scratch:
        base = args.keep or Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        table = {
            size: bench_size(size, base, args.repeat, archive=not args.no_archive) for size in sizes
        }
    names = list(next(iter(table.values())))
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'figure (seconds, x ratio to find|wc -l)':<40}" + "".join(f"{n:>18,}" for n in sizes))
    for name in names:
        cells = "".join(_cell(table[size], name) for size in sizes)
        print(f"{name:<40}{cells}")
    largest = sizes[-1]
    if largest >= 50_000:
        print(f"goals at {largest:,} sessions (issue 21):")
        for line in verdicts(table[largest]):
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
