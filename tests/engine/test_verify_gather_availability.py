"""verify's sessions facts: a peer that has just reconnected is not reported as lacking a
session while Syncthing's `availability` still catches up (1.29 names it ~1 s late)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from session_roam.engine.syncthing.models import FileInfo, FolderConfig
from session_roam.engine.verify.gather import _missing_on_peers
from session_roam.engine.verify.model import PeerFacts

if TYPE_CHECKING:
    from pathlib import Path

BETA = "BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB"
FOLDER = FolderConfig("claude-projects", "", "/p", "sendreceive", (BETA,), True, 1.0, 10, False, {})
PEER = PeerFacts(BETA, "beta", True, False, True, 0, 100.0)


class _LaggingClient:
    """Leaves beta out of every file's availability for its first ``lag`` answers."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.asked = 0

    def file_info(self, _folder: str, rel: str) -> FileInfo:
        self.asked += 1
        holders = [] if self.asked <= self.lag else [{"id": BETA}]
        return FileInfo.from_json({"global": {"name": rel}, "availability": holders})


def _old_session(projects: Path) -> Any:
    path = projects / "-proj" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("{}\n")
    old = time.time() - 60
    os.utime(path, (old, old))

    class Files:
        main = path

    return Files()


def test_sessions_gap_that_closes_within_seconds_is_not_reported(tmp_path: Path) -> None:
    client = _LaggingClient(lag=3)
    checked, gaps = _missing_on_peers(
        client,  # type: ignore[arg-type]
        FOLDER,
        tmp_path,
        (_old_session(tmp_path),),
        (PEER,),
    )
    assert (checked, gaps) == (1, ())


def test_sessions_gap_that_stays_is_reported_after_the_settle_time(tmp_path: Path) -> None:
    client = _LaggingClient(lag=10_000)
    started = time.monotonic()
    _, gaps = _missing_on_peers(
        client,  # type: ignore[arg-type]
        FOLDER,
        tmp_path,
        (_old_session(tmp_path),),
        (PEER,),
    )
    assert [(g.path, g.peer) for g in gaps] == [("-proj/s.jsonl", "beta")]
    assert 2.9 < time.monotonic() - started < 5.0
