from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.lease import api as lease
from session_roam.engine.lease.model import Claim, ClaimState, serialize_claim
from session_roam.engine.resume import coordinate as coordinate_module
from session_roam.engine.resume import coordinator as coordinator_module
from session_roam.engine.resume.choose import what_is_here
from session_roam.engine.resume.coordinate import (
    CrOptions,
    agent_namespaces,
    open_coordinator,
    run_cr,
)
from session_roam.engine.resume.coordinator import SyncthingCoordinator, acquire_lease
from session_roam.engine.sessions.pick import PickedSession
from session_roam.engine.syncthing.models import Connection, FileInfo, FolderStatus
from session_roam.engine.syncthing.syncready import SyncHere
from session_roam.errors import (
    LeaseHeld,
    RoamError,
    SessionNotFound,
    SetupError,
    SyncthingConfigMissing,
    SyncthingError,
    SyncthingUnreachable,
)
from tests.engine.lease_fakes import FakeClock, FakeNet, FakeTransport, make_engine
from tests.support.st_home import write_st_config

if TYPE_CHECKING:
    from session_roam.engine.lease.engine import LeaseEngine

pytest_plugins = ["tests.support.st_home_fixtures"]

SID = "aaaaaaaa-1111-4111-8111-111111111111"


def _failing(error: RoamError) -> object:
    def open_engine(_claude_dir: Path | None = None) -> object:
        raise error

    return open_engine


def test_open_coordinator_without_syncthing_config_is_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lease, "open_engine", _failing(SyncthingConfigMissing("none")))
    assert open_coordinator(None, force=False) is None


def test_open_coordinator_refuses_a_set_up_syncthing_that_cannot_start(
    silent_syncthing: Path,
) -> None:
    with pytest.raises(SyncthingUnreachable, match="roam could not start it") as raised:
        open_coordinator(None, force=False)
    assert "roam cr --no-lease" in raised.value.hint


def test_open_coordinator_forced_still_refuses_to_go_without_a_lease(
    silent_syncthing: Path,
) -> None:
    with pytest.raises(SyncthingUnreachable):
        open_coordinator(None, force=True)


def test_open_coordinator_with_no_lease_asks_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ROAM_SYNCTHING_HOME", str(tmp_path / "not-even-checked"))
    assert open_coordinator(None, no_lease=True) is None


def test_open_coordinator_when_no_folder_shares_the_projects_is_none(
    clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = write_st_config(clean_environ / ".config" / "syncthing", shares=None)
    monkeypatch.setenv("ROAM_SYNCTHING_BIN", str(home / "never-run"))
    assert open_coordinator(None, force=False) is None


def test_open_coordinator_refuses_a_roam_syncthing_home_without_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ROAM_SYNCTHING_HOME", str(tmp_path / "typo"))
    with pytest.raises(SetupError, match="given by ROAM_SYNCTHING_HOME"):
        open_coordinator(None, force=False)


def test_open_coordinator_gives_the_lease_the_device_id_its_probe_saw(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The probe checked the running node's ID: the lease does not ask Syncthing again."""
    here = SyncHere(SimpleNamespace(path=tmp_path), folder_id="f", device_id="ME-ID")  # type: ignore[arg-type]
    monkeypatch.setattr(coordinate_module, "sync_here", lambda *_a, **_k: here)
    opened: list[dict[str, object]] = []

    def open_engine(_claude_dir: Path | None = None, **kwargs: object) -> object:
        opened.append(kwargs)
        return "engine"

    monkeypatch.setattr(lease, "open_engine", open_engine)
    monkeypatch.setattr(
        coordinate_module, "SyncthingCoordinator", SimpleNamespace(on=lambda engine, **_: engine)
    )
    assert str(open_coordinator(None)) == "engine"
    assert opened == [{"syncthing_home": tmp_path, "folder_id": "f", "device_id": "ME-ID"}]


def test_agent_namespaces_reads_roam_config(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('agent_namespaces = ["/srv/agents", "~/bots"]\n')
    found = agent_namespaces(tmp_path)
    assert found[0] == Path("/srv/agents")
    assert found[1] == (tmp_path / "home" / "bots").resolve()


def test_agent_namespaces_without_config_is_empty(tmp_path: Path) -> None:
    assert agent_namespaces(tmp_path) == ()


def test_acquire_lease_tries_again_after_a_transient_syncthing_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[str] = []

    def flaky(session_id: str, **_kwargs: object) -> str:
        calls.append(session_id)
        if len(calls) == 1:
            raise SyncthingError("Syncthing answered 500 to POST /rest/db/scan.")
        return "lease"

    monkeypatch.setattr(lease, "acquire", flaky)
    monkeypatch.setattr(coordinator_module, "_RETRY_PAUSE_S", 0.0)
    assert str(acquire_lease(SID, tmp_path / "s.jsonl")) == "lease"
    assert len(calls) == 2


def test_acquire_lease_never_retries_a_verdict(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[str] = []

    def held(session_id: str, **_kwargs: object) -> str:
        calls.append(session_id)
        raise LeaseHeld("held by beta")

    monkeypatch.setattr(lease, "acquire", held)
    with pytest.raises(LeaseHeld):
        acquire_lease(SID, tmp_path / "s.jsonl")
    assert len(calls) == 1


class _Client:
    """Just enough of SyncthingClient for the coordinator's "still pulling" count."""

    def __init__(self, online: set[str], holders: dict[str, tuple[str, ...]]) -> None:
        self.online = online
        self.holders = holders

    def folder_status(self, _folder: str) -> FolderStatus:
        return FolderStatus.from_json({"needFiles": len(self.holders)})

    def connections(self) -> dict[str, Connection]:
        return {d: Connection(d, d in self.online, False, "", "") for d in ("ME", "ALPHA", "VAULT")}

    def folder(self, _folder: str) -> SimpleNamespace:
        return SimpleNamespace(device_ids=("ME", "ALPHA", "VAULT"))

    def needed_names(self, _folder: str, *, limit: int) -> list[str]:
        return list(self.holders)[:limit]

    def file_info(self, _folder: str, name: str) -> FileInfo:
        return FileInfo.from_json(
            {"global": {"name": name}, "availability": [{"id": d} for d in self.holders[name]]}
        )


def _coordinator(client: _Client, tmp_path: Path) -> SyncthingCoordinator:
    engine = SimpleNamespace(device_id="ME")
    return SyncthingCoordinator(engine, client, "f", tmp_path)  # type: ignore[arg-type]  # fakes


def test_coordinator_does_not_wait_for_files_only_an_offline_machine_has(tmp_path: Path) -> None:
    client = _Client({"VAULT"}, {"a.jsonl": ("ALPHA",), "b.jsonl": ("ALPHA", "VAULT")})
    assert _coordinator(client, tmp_path)._pulling() == 1


def test_coordinator_waits_for_every_needed_file_while_all_peers_are_connected(
    tmp_path: Path,
) -> None:
    client = _Client({"ALPHA", "VAULT"}, {"a.jsonl": (), "b.jsonl": ("VAULT",)})
    assert _coordinator(client, tmp_path)._pulling() == 2


def _picked(tmp_path: Path, rows: list[str]) -> PickedSession:
    path = tmp_path / "-proj" / f"{SID}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(row + "\n" for row in rows))
    return PickedSession(SID, path, None, "id")


def _user(text: str, stamp: str) -> str:
    return (
        '{"type":"user","message":{"role":"user","content":"' + text + '"},'
        '"timestamp":"' + stamp + '","cwd":"/home/u/proj"}'
    )


def test_what_is_here_names_the_turns_and_the_last_prompt(tmp_path: Path) -> None:
    rows = [_user("one", "2026-11-25T10:00:00Z"), _user("two on alpha", "2026-11-25T10:05:00Z")]
    assert what_is_here(_picked(tmp_path, rows)) == (
        "This machine has 2 turns of it; the last, at 2026-11-25T10:05:00Z, was 'two on alpha'."
    )


def test_what_is_here_says_when_there_is_no_turn_yet(tmp_path: Path) -> None:
    picked = _picked(tmp_path, ['{"type":"summary","summary":"x"}'])
    assert what_is_here(picked) == "This machine has no turn of it yet."


def _engine_with_claim(tmp_path: Path, state: ClaimState) -> LeaseEngine:
    net, clock = FakeNet(), FakeClock()
    here = FakeTransport(net, "B", tmp_path / "b")
    FakeTransport(net, "A", tmp_path / "a")
    claim = Claim(SID, "A", 3, state, 30.0, 1, name="alpha")
    here.put_raw(SID, "A", serialize_claim(claim))
    return make_engine(here, clock, tmp_path / "state")


def test_cr_says_a_session_still_on_its_way_is_being_written_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engine = _engine_with_claim(tmp_path, ClaimState.HELD)
    monkeypatch.setattr(lease, "open_engine", lambda _claude_dir=None: engine)
    monkeypatch.setattr(coordinate_module, "open_coordinator", lambda *_a, **_k: None)
    with pytest.raises(SessionNotFound, match=r"is being written on alpha \(A\), and its file"):
        run_cr(CrOptions(cwd=tmp_path, query=SID), ui=None)  # type: ignore[arg-type]  # unused


def test_cr_says_a_released_session_has_not_arrived_yet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engine = _engine_with_claim(tmp_path, ClaimState.RELEASED)
    monkeypatch.setattr(lease, "open_engine", lambda _claude_dir=None: engine)
    monkeypatch.setattr(coordinate_module, "open_coordinator", lambda *_a, **_k: None)
    with pytest.raises(SessionNotFound, match=r"was last written on alpha \(A\)"):
        run_cr(CrOptions(cwd=tmp_path, query=SID), ui=None)  # type: ignore[arg-type]  # unused


def test_cr_unknown_session_without_claims_is_plainly_not_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(lease, "open_engine", _failing(SyncthingConfigMissing("none")))
    with pytest.raises(SessionNotFound, match="No session matches"):
        run_cr(CrOptions(cwd=tmp_path, query=SID), ui=None)  # type: ignore[arg-type]  # unused
