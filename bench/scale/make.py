"""Make a year of sessions: N realistic session files for the scale benchmark.

    python -m bench.scale.make 10000 /tmp/scale/claude     # <DIR>/projects/<slug>/<id>.jsonl

Every session is a prefix of a real transcript from the shared corpus (``shared/research/
corpus``, Claude Code 2.1.38 to 2.1.331 sessions), cut at a line boundary to a size drawn so
that the mean is about 140 KB (the 7 GB for 50,000 sessions the issue measured), with its
session id and cwd rewritten to its own; the sources with subagents bring theirs along, in the
session's sibling folder. Sessions go to one of N/20 project folders (2,500 at 50,000) and
their mtimes are spread over the year before now. Deterministic for a given N and seed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_ID_RE: Final = re.compile(rb'"sessionId":"([0-9a-f-]{36})"')
_CWD_RE: Final = re.compile(rb'"cwd":"([^"]*)"')
_YEAR_S: Final = 365 * 24 * 3600
_MEAN_BYTES: Final = 140_000


def corpus_dir() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        for candidate in (parent / "shared" / "research" / "corpus", parent.parent / "shared"):
            found = candidate if candidate.name == "corpus" else candidate / "research" / "corpus"
            if found.is_dir():
                return found
    return Path("/work/shared/research/corpus")


@dataclass(frozen=True)
class Source:
    lines: list[bytes]
    session_id: bytes
    cwds: tuple[bytes, ...]
    subagents: dict[str, bytes]


def load_sources(root: Path) -> list[Source]:
    sources: list[Source] = []
    for path in sorted(root.rglob("*.jsonl")):
        if "subagents" in path.parts:
            continue
        data = path.read_bytes()
        found = _ID_RE.search(data)
        if found is None:
            continue
        cwds = tuple(sorted(set(_CWD_RE.findall(data)), key=len, reverse=True))
        side = path.with_suffix("") / "subagents"
        subs = (
            {p.name: p.read_bytes() for p in sorted(side.glob("*.jsonl"))} if side.is_dir() else {}
        )
        sources.append(Source(data.splitlines(keepends=True), found.group(1), cwds, subs))
    return sources


def _rewrite(data: bytes, source: Source, session_id: bytes, cwd: bytes) -> bytes:
    data = data.replace(source.session_id, session_id)
    for old in source.cwds:
        data = data.replace(b'"cwd":"' + old + b'"', b'"cwd":"' + cwd + b'"')
    return data


def _prefix(lines: list[bytes], budget: int) -> bytes:
    out: list[bytes] = []
    size = 0
    for line in lines:
        if out and size + len(line) > budget:
            break
        out.append(line)
        size += len(line)
    return b"".join(out)


def make(count: int, claude_dir: Path, *, seed: int = 21, now: float | None = None) -> int:
    """Write ``count`` sessions below ``claude_dir/projects``; answers the bytes written."""
    rng = random.Random(seed)
    sources = load_sources(corpus_dir())
    now = time.time() if now is None else now
    projects = max(1, min(2500, count // 20))
    root = claude_dir / "projects"
    root.mkdir(parents=True, exist_ok=True)
    written = 0
    for n in range(count):
        project = n % projects
        cwd = f"/home/user/code/project-{project:04d}".encode()
        folder = root / ("-home-user-code-project-" + f"{project:04d}")
        folder.mkdir(exist_ok=True)
        source = sources[rng.randrange(len(sources))]
        session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        budget = int(rng.lognormvariate(0, 1.0) * _MEAN_BYTES / 1.1)
        data = _rewrite(_prefix(source.lines, budget), source, session_id.encode(), cwd)
        main = folder / f"{session_id}.jsonl"
        main.write_bytes(data)
        written += len(data)
        stamp = now - rng.random() * _YEAR_S
        if source.subagents:
            side = folder / session_id / "subagents"
            side.mkdir(parents=True)
            for name, body in source.subagents.items():
                sub = _rewrite(
                    _prefix(body.splitlines(keepends=True), budget // 2),
                    source,
                    session_id.encode(),
                    cwd,
                )
                (side / name).write_bytes(sub)
                written += len(sub)
                os.utime(side / name, (stamp, stamp))
        os.utime(main, (stamp, stamp))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("claude_dir", type=Path)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args(argv)
    started = time.monotonic()
    written = make(args.count, args.claude_dir, seed=args.seed)
    print(
        f"{args.count} sessions, {written / 1e9:.2f} GB in {args.claude_dir / 'projects'} "
        f"({time.monotonic() - started:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
