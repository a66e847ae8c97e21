"""Fixtures for the merge tests: corpus files and a way to make a diverged copy of one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"

MAIN_SESSIONS = [
    "machine-a-422da93e.jsonl",
    "spotter-short.jsonl",
    "spotter-tool_heavy.jsonl",
    "spotter-258c7280-compaction.jsonl",
    "viewer-5c0375b4-1.0.108.jsonl",
    "viewer-fe5e1c67-1.0.98.jsonl",
    "subagent-a80325b5.jsonl",
]
ALL_FILES = sorted(path.name for path in CORPUS.glob("*.jsonl"))


@pytest.fixture
def corpus() -> Callable[[str], bytes]:
    """Factory: the exact bytes of ``fixtures/corpus/<name>``."""

    def read(name: str) -> bytes:
        return (CORPUS / name).read_bytes()

    return read
