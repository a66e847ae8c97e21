"""A generated corpus of realistic session files for the ``roam cf`` benchmark.

Sessions look like Claude Code 2.1.331's: a user prompt, assistant rows with text and tool_use
blocks, user rows carrying tool_result output (the bulk of the bytes in real sessions, and not
indexed), metadata rows. Words follow a Zipf-like distribution over a generated vocabulary, so
"common" words match in most sessions; a few planted rare words match in a handful.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.paths import project_slug

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["COMMON_WORD", "RARE_WORD", "Corpus", "append_turns", "generate"]

RARE_WORD: Final = "quetzalcoatlus"
COMMON_WORD: Final = "function"
_SYLLABLES: Final = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "xe", "zu", "pra", "ste"]
_BASE_WORDS: Final = [
    "function",
    "the",
    "a",
    "and",
    "to",
    "of",
    "in",
    "file",
    "test",
    "error",
    "build",
    "config",
    "deploy",
    "server",
    "client",
    "request",
    "python",
    "rust",
    "module",
    "import",
    "return",
    "value",
    "list",
    "index",
    "query",
    "cache",
    "session",
    "merge",
    "branch",
    "commit",
]


@dataclass(frozen=True, slots=True)
class Corpus:
    root: Path  # a Claude config folder: root/projects/<slug>/<id>.jsonl
    files: tuple[Path, ...]
    total_bytes: int
    rare_sessions: int


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words = list(_BASE_WORDS)
    while len(words) < size:
        words.append("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return words


def _paragraphs(rng: random.Random, words: list[str], count: int) -> list[str]:
    weights = [1.0 / (rank + 1) for rank in range(len(words))]
    result = []
    for _ in range(count):
        length = rng.randint(8, 120)
        result.append(" ".join(rng.choices(words, weights=weights, k=length)) + ".")
    return result


def _rows(rng: random.Random, sid: str, cwd: str, paragraphs: list[str], turns: int) -> bytes:
    out: list[bytes] = []
    parent: str | None = None
    second = 0

    def emit(row: dict[str, object]) -> None:
        out.append(json.dumps(row, separators=(",", ":")).encode() + b"\n")

    for _ in range(turns):
        for kind in ("prompt", "answer", "tool", "result", "answer"):
            node = str(uuid.UUID(int=rng.getrandbits(128)))
            second += rng.randint(1, 30)
            hms = f"{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            stamp = f"2026-0{1 + second // 2_000_000 % 9}-01T{hms}.000Z"
            base = {
                "parentUuid": parent,
                "uuid": node,
                "cwd": cwd,
                "sessionId": sid,
                "timestamp": stamp,
                "version": "2.1.331",
                "isSidechain": False,
            }
            if kind == "prompt":
                emit(
                    {
                        **base,
                        "type": "user",
                        "message": {"role": "user", "content": rng.choice(paragraphs)},
                    }
                )
            elif kind == "answer":
                text = " ".join(rng.choices(paragraphs, k=rng.randint(1, 4)))
                emit(
                    {
                        **base,
                        "type": "assistant",
                        "message": {
                            "role": "assistant",
                            "id": f"msg_{node[:8]}",
                            "content": [{"type": "text", "text": text}],
                        },
                    }
                )
            elif kind == "tool":
                emit(
                    {
                        **base,
                        "type": "assistant",
                        "message": {
                            "role": "assistant",
                            "id": f"msg_{node[:8]}",
                            "content": [
                                {
                                    "type": "tool_use",
                                    "id": f"toolu_{node[:8]}",
                                    "name": "Bash",
                                    "input": {"command": rng.choice(paragraphs)[:80]},
                                }
                            ],
                        },
                    }
                )
            else:  # tool output: most of a real session's bytes, never indexed
                output = "\n".join(rng.choices(paragraphs, k=rng.randint(4, 30)))
                emit(
                    {
                        **base,
                        "type": "user",
                        "message": {
                            "role": "user",
                            "content": [
                                {
                                    "type": "tool_result",
                                    "tool_use_id": f"toolu_{node[:8]}",
                                    "content": output,
                                }
                            ],
                        },
                    }
                )
            parent = node
    emit({"type": "last-prompt", "leafUuid": parent, "sessionId": sid})
    return b"".join(out)


def generate(
    root: Path,
    *,
    sessions: int,
    target_bytes: int,
    seed: int = 7,
    projects: int | None = None,
    code: str = "/home/bench/code",
) -> Corpus:
    """Write ``sessions`` files totalling about ``target_bytes`` under ``root/projects``, in
    turn over ``projects`` projects (one per 50 sessions when None) whose working directories
    are ``code``/project-NNN."""
    rng = random.Random(seed)
    words = _vocabulary(rng, 20_000)
    paragraphs = _paragraphs(rng, words, 4000)
    per_session = target_bytes // sessions
    count = projects if projects is not None else max(1, sessions // 50)
    cwds = [f"{code}/project-{n:03d}" for n in range(count)]
    rare_every = max(1, sessions // 5)
    files: list[Path] = []
    total = 0
    rare = 0
    for index in range(sessions):
        cwd = cwds[index % len(cwds)]
        folder = root / "projects" / project_slug(cwd)
        folder.mkdir(parents=True, exist_ok=True)
        sid = str(uuid.UUID(int=rng.getrandbits(128)))
        data = b""
        turns = 2
        while len(data) < per_session * 0.9:
            data = _rows(rng, sid, cwd, paragraphs, turns)
            turns = max(turns + 1, int(turns * per_session / max(len(data), 1)))
        if index % rare_every == 0:
            data += _rows(rng, sid, cwd, [f"we saw a {RARE_WORD} in the logs"], 1)
            rare += 1
        path = folder / f"{sid}.jsonl"
        path.write_bytes(data)
        files.append(path)
        total += len(data)
    return Corpus(root, tuple(files), total, rare)


def append_turns(files: list[Path], seed: int = 11) -> int:
    """Append one realistic turn to each file; returns the bytes appended."""
    rng = random.Random(seed)
    paragraphs = _paragraphs(rng, _vocabulary(rng, 20_000), 200)
    added = 0
    for path in files:
        extra = _rows(rng, path.stem, "/home/bench/code/appended", paragraphs, 1)
        with path.open("ab") as handle:
            handle.write(extra)
        added += len(extra)
    return added
