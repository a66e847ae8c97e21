"""Fixtures for end-to-end tests that drive the real Claude Code client offline.

``claude_bin`` is the pinned client (env ROAM_CLAUDE_BIN, else ``claude`` on PATH); without one
the tests skip locally and fail in CI. ``fake_api`` is a fresh loopback Messages API per test,
``claude`` a driver bound to it, ``make_home`` makes one simulated machine per call, and
``project_cwd`` is the project folder every machine works in (same absolute path, as roam
requires). The cluster fixtures (``pair``, ``trio``, ``make_cluster``, ``connected``, ``roam``)
come from ``tests.e2e.cluster_fixtures``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final, NoReturn

import pytest

from tests.e2e.cluster_fixtures import connected, make_cluster, pair, roam, syncthing_bin, trio
from tests.support.claude import ClaudeDriver, ClaudeHome, ClaudeRun, MakeHome
from tests.support.fake_api import FakeMessagesApi
from tests.support.sessions import BASE_PROMPTS, CONTINUATIONS, DivergedSession, copy_projects

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["connected", "make_cluster", "pair", "roam", "syncthing_bin", "trio"]

#: The client version the e2e tests are written against (pinned in CI).
CLIENT_VERSION: Final = "2.1.331"
#: Gap between starting the machines' concurrent turns: "a few ms apart".
_STAGGER_S: Final = 0.02


def _client_version(binary: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="roam-claude-version-") as home:
        done = subprocess.run(
            [str(binary), "--version"],
            env={"PATH": os.environ.get("PATH", ""), "HOME": home},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    lines = done.stdout.strip().splitlines()
    return lines[0] if lines else ""


def _unusable(reason: str) -> NoReturn:
    """Without the client the e2e tests cannot run: an error in CI, a skip on a laptop."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The pinned real client: $ROAM_CLAUDE_BIN if set (CI always sets it), else ``claude``.

    The tests encode the behaviour of one client version, so any other version is refused.
    """
    configured = os.environ.get("ROAM_CLAUDE_BIN")
    if configured:
        binary = Path(configured)
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            pytest.fail(f"ROAM_CLAUDE_BIN={configured!r} is not an executable file.", pytrace=False)
    else:
        found = shutil.which("claude")
        if found is None:
            _unusable(
                "The Claude Code client was not found: ROAM_CLAUDE_BIN is unset and there is no "
                f"`claude` on PATH. Run `npm install @anthropic-ai/claude-code@{CLIENT_VERSION}` "
                "and set ROAM_CLAUDE_BIN=$PWD/node_modules/.bin/claude."
            )
        binary = Path(found)
    version = _client_version(binary)
    if not version.startswith(f"{CLIENT_VERSION} "):
        _unusable(
            f"{binary} is Claude Code {version or '(unknown version)'}, but these tests are "
            f"written against {CLIENT_VERSION}. Point ROAM_CLAUDE_BIN at that version."
        )
    # Absolute: the client runs with cwd set to a project, where a relative path breaks.
    return binary.absolute()


@pytest.fixture
def fake_api() -> Iterator[FakeMessagesApi]:
    """A stand-in Messages API on 127.0.0.1, recording every request of this test."""
    with FakeMessagesApi() as api:
        yield api


@pytest.fixture
def claude(claude_bin: Path, fake_api: FakeMessagesApi) -> ClaudeDriver:
    """Runs turns of the real client against ``fake_api``."""
    return ClaudeDriver(binary=claude_bin, base_url=fake_api.base_url)


@pytest.fixture
def make_home(tmp_path: Path) -> MakeHome:
    """Factory: ``make_home("a")`` is a fresh machine whose HOME is ``tmp_path/homes/a``."""

    def make(name: str) -> ClaudeHome:
        path = tmp_path / "homes" / name
        (path / ".claude").mkdir(parents=True)
        return ClaudeHome(name=name, path=path)

    return make


@pytest.fixture
def project_cwd(tmp_path: Path) -> Path:
    """The project every simulated machine works in; one absolute path, like a synced checkout."""
    cwd = tmp_path / "work" / "proj"
    cwd.mkdir(parents=True)
    return cwd.resolve()


@pytest.fixture(scope="session")
def diverged_session(claude_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> DivergedSession:
    """One session, made by the real client, continued apart on three machines at once.

    Machine ``a`` makes ``BASE_PROMPTS`` (the second runs a Bash tool call); its projects folder
    is copied to ``b`` and ``c``; then ``a``, ``b`` and ``c`` each make their ``CONTINUATIONS``
    turn, started in that order a few ms apart, so the turns overlap in time as they do on two
    busy machines. ``DivergedSession.order()`` reads the resulting time order from the files.
    Built once per run (five client runs, about 5 s) and handed out only as bytes, so tests
    cannot disturb each other.
    """
    root = tmp_path_factory.mktemp("diverged")
    cwd = root / "work" / "proj"
    cwd.mkdir(parents=True)
    cwd = cwd.resolve()
    homes = {name: ClaudeHome(name=name, path=root / "homes" / name) for name in CONTINUATIONS}
    with FakeMessagesApi() as api:
        claude = ClaudeDriver(binary=claude_bin, base_url=api.base_url)
        origin = homes["a"]
        session_id = claude.new(origin, cwd, BASE_PROMPTS[0]).session_id
        claude.cont(origin, cwd, BASE_PROMPTS[1], allowed_tools=["Bash"])
        base = origin.session_file(cwd, session_id).read_bytes()
        for home in homes.values():
            if home is not origin:
                copy_projects(origin, home)
        with ThreadPoolExecutor(max_workers=len(homes)) as pool:
            runs: dict[str, Future[ClaudeRun]] = {}
            for name, prompt in CONTINUATIONS.items():
                runs[name] = pool.submit(
                    claude.cont, homes[name], cwd, prompt, allowed_tools=["Bash"]
                )
                time.sleep(_STAGGER_S)
        for name, run in runs.items():
            assert run.result().session_id == session_id, f"{name} started a new session"
    versions = {
        name: home.session_file(cwd, session_id).read_bytes() for name, home in homes.items()
    }
    for name, version in versions.items():  # the client only appends: each copy extends base
        assert version.startswith(base), f"{name} rewrote the history it was given"
    return DivergedSession(session_id=session_id, cwd=cwd, base=base, versions=versions)
