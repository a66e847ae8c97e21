"""An in-memory Syncthing /rest/config for unit tests of pairing and encrypted sharing.

Real Syncthing proves the behaviour in the e2e tests; this stands in where a test checks what
roam sends (and that a second run sends nothing), in milliseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import httpx

from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.config import StConfig
from session_roam.engine.syncthing.local import LocalSyncthing
from session_roam.engine.syncthing.models import SyncthingVersion

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["FOLDER", "ME", "VAULT", "FakeConfig", "local_over", "password_file"]

ME: Final = "HKHFN7Y-7TI5ZIW-ZIOBERK-MKLXZ7V-EKJOADU-PXKGBAY-DNV5YJL-EJSGTQL"
VAULT: Final = "RFF44FX-7GLVHMA-DHSCGKJ-LHXSPMO-YMDG4LK-2XELPWS-OYST7G7-UJUR3A3"
FOLDER: Final = "claude-projects"


@dataclass
class FakeConfig:
    """Devices and folders, this machine (``ME``) sharing ``FOLDER`` at ``projects``.

    ``writes`` counts every non-GET request (an idempotent second run makes none);
    ``echo_errors`` answers folder writes with a 500 that repeats the request body, as a
    confused server might (the password must not leak through it).
    """

    projects: str
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    echo_errors: bool = False
    writes: int = 0

    def __post_init__(self) -> None:
        self.devices[ME] = {"deviceID": ME, "name": "me", "addresses": ["dynamic"]}
        self.folders[FOLDER] = {
            "id": FOLDER,
            "path": self.projects,
            "type": "sendreceive",
            "devices": [{"deviceID": ME, "encryptionPassword": ""}],
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        if method != "GET":
            self.writes += 1
        if self.echo_errors and method != "GET" and path.startswith("/rest/config/folders"):
            return httpx.Response(500, text=f"rejected {request.content.decode()}")
        if path == "/rest/system/status":
            return httpx.Response(200, json={"myID": ME})
        if path.startswith("/rest/cluster/pending/"):  # nobody is asking to pair
            return httpx.Response(200, json={})
        if path == "/rest/config/devices":
            if method == "POST":
                self.devices[body["deviceID"]] = body
            return httpx.Response(200, json=list(self.devices.values()))
        if path.startswith("/rest/config/devices/"):
            self.devices[path.rsplit("/", 1)[1]].update(body)
            return httpx.Response(200, json={})
        if path == "/rest/config/folders":
            if method == "POST":
                self.folders[body["id"]] = body
            return httpx.Response(200, json=list(self.folders.values()))
        folder = self.folders[path.rsplit("/", 1)[1]]
        if method == "PATCH":
            folder.update(body)
        return httpx.Response(200, json=folder)

    def vault_entry(self) -> dict[str, Any]:
        """The folder's entry for ``VAULT`` (its encryption password lives there)."""
        return next(d for d in self.folders[FOLDER]["devices"] if d["deviceID"] == VAULT)

    def client(self) -> SyncthingClient:
        return SyncthingClient(
            "http://127.0.0.1:8384", "k", transport=httpx.MockTransport(self.handle)
        )


def local_over(fake: FakeConfig, home: Path) -> LocalSyncthing:
    """This machine's Syncthing (1.19.2, GUI on loopback), answering from ``fake``."""
    config = StConfig(
        home=home, gui_address="127.0.0.1:8384", gui_tls=False, listen_addresses=(), api_key="k"
    )
    return LocalSyncthing("syncthing", config, SyncthingVersion(1, 19, 2, "v1.19.2"), fake.client())


def password_file(folder: Path, text: str, mode: int = 0o600) -> Path:
    """A password file as a person would make it (``mode`` to test the permission check)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "vault-password"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path
