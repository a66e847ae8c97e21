"""Safe repair: a vanished folder comes back from the peers before its marker is recreated."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from session_roam.engine.deletions.repair import needs_repair, repair_folder
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.errors import SyncTimeout

if TYPE_CHECKING:
    from pathlib import Path


class FakeFolder:
    """A folder whose peers hold two files; ``revert`` makes them arrive."""

    def __init__(self, *, peers_answer: bool = True) -> None:
        self.calls: list[str] = []
        self.type = "sendreceive"
        self.reverted = False
        self.peers_answer = peers_answer

    def status(self) -> dict[str, Any]:
        back = self.reverted and self.peers_answer
        return {
            "state": "idle",
            "globalFiles": 2,
            "localFiles": 2 if back else 0,
            "needTotalItems": 0 if back or not self.reverted else 2,
            "receiveOnlyTotalItems": 0 if self.reverted else 2,
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/rest/db/status":
            return httpx.Response(200, json=self.status())
        if path == "/rest/config/folders/f" and request.method == "GET":
            return httpx.Response(200, json={"id": "f", "path": "/x", "type": self.type})
        if path == "/rest/config/folders/f" and request.method == "PATCH":
            self.type = json.loads(request.content)["type"]
            self.calls.append(f"type={self.type}")
            return httpx.Response(200)
        if path == "/rest/db/revert":
            self.reverted = True
        self.calls.append(path.rsplit("/", 1)[-1])
        return httpx.Response(200)


def _client(folder: FakeFolder) -> SyncthingClient:
    return SyncthingClient("http://127.0.0.1:1", "k", transport=httpx.MockTransport(folder.handle))


def test_needs_repair_when_the_folder_is_gone_and_peers_hold_files(tmp_path: Path) -> None:
    assert needs_repair(_client(FakeFolder()), "f", tmp_path / "projects")


def test_needs_no_repair_while_the_marker_is_there(tmp_path: Path) -> None:
    (tmp_path / "projects" / ".stfolder").mkdir(parents=True)
    assert not needs_repair(_client(FakeFolder()), "f", tmp_path / "projects")


def test_repair_goes_receive_only_before_recreating_the_marker(tmp_path: Path) -> None:
    folder = FakeFolder()
    repair_folder(_client(folder), "f", tmp_path / "projects")
    assert folder.calls == ["type=receiveonly", "scan", "revert", "type=sendreceive"]


def test_repair_recreates_the_folder_and_its_marker(tmp_path: Path) -> None:
    repair_folder(_client(FakeFolder()), "f", tmp_path / "projects")
    assert (tmp_path / "projects" / ".stfolder").is_dir()


def test_repair_stays_receive_only_when_no_peer_answers(tmp_path: Path) -> None:
    folder = FakeFolder(peers_answer=False)
    with pytest.raises(SyncTimeout):
        repair_folder(_client(folder), "f", tmp_path / "projects", timeout_s=0.3)
    assert folder.type == "receiveonly"
