"""Every ```sh block of the README runs as written, in order, in one scratch HOME.

A block that cannot run here says why in an HTML comment on the line just before it:
``<!-- not-run: needs a second machine -->``. Every other block runs with ``bash -e`` from the
clone's root, with this checkout's roam, the test run's Syncthing and claude on PATH. A new
block is checked without touching this file.

The scratch HOME already has a Syncthing config (loopback only, no discovery, free ports), as a
machine that had Syncthing before roam does: ``roam setup`` as written adopts it, so no test
node announces itself to the internet. Every Syncthing started under the scratch HOME is
stopped at the end. The blocks start real Syncthing nodes (``./scripts/demo``, ``roam setup``):
e2e.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from session_roam.engine.syncthing.cluster import free_ports
from session_roam.engine.syncthing.config import generate_config, harden_config
from tests.support.procs import processes_mentioning
from tests.support.syncthing_bin import SYNCTHING

if TYPE_CHECKING:
    from collections.abc import Iterator

_CLONE: Final = Path(__file__).resolve().parents[1]
_README: Final = _CLONE / "README.md"
_FENCE: Final = re.compile(r"^```sh\n(.*?)^```$", re.S | re.M)
_NOT_RUN: Final = re.compile(r"<!--\s*not-run:\s*(.+?)\s*-->\s*$")
_SCRATCH_PATHS: Final = ("/tmp/roam-example",)  # literal paths the README's blocks write to


@dataclass(frozen=True, slots=True)
class Block:
    line: int  # where the block starts in README.md
    code: str
    not_run: str | None  # the reason given, for a block marked not-run

    @property
    def name(self) -> str:
        return f"README.md:{self.line}: {self.code.splitlines()[0][:50]}"


def readme_blocks(text: str) -> list[Block]:
    blocks = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        reason = _NOT_RUN.search(before)
        line = text.count("\n", 0, match.start()) + 1
        blocks.append(Block(line, match.group(1), reason.group(1) if reason else None))
    return blocks


_BLOCKS: Final = readme_blocks(_README.read_text(encoding="utf-8"))


def test_the_readme_has_blocks_to_run() -> None:
    assert [b for b in _BLOCKS if b.not_run is None]


def test_every_not_run_mark_gives_a_reason() -> None:
    assert all(b.not_run for b in _BLOCKS if b.not_run is not None)


def test_a_not_run_mark_applies_only_to_the_block_right_after_it() -> None:
    text = "<!-- not-run: no -->\n```sh\na\n```\n\n```sh\nb\n```\n"
    assert [(b.code, b.not_run) for b in readme_blocks(text)] == [("a\n", "no"), ("b\n", None)]


def _pids_under(home: Path) -> list[int]:
    return [pid for pid, argv in processes_mentioning(str(home)).items() if "syncthing" in argv]


def _stop_syncthing_under(home: Path) -> None:
    for pid in _pids_under(home):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment every block runs in: a new user's HOME, tools from the test run."""
    if SYNCTHING is None:
        pytest.skip("no syncthing to run the README's blocks with")
    home = tmp_path_factory.mktemp("readme-home")
    st_home = home / ".config" / "syncthing"
    generate_config(SYNCTHING, st_home)
    gui, listen = free_ports(2)
    harden_config(
        st_home, gui_address=f"127.0.0.1:{gui}", listen_address=f"tcp://127.0.0.1:{listen}"
    )
    path = [str(home / ".local" / "bin"), str(_CLONE / ".venv" / "bin")]
    if claude := os.environ.get("ROAM_CLAUDE_BIN"):
        path.append(str(Path(claude).parent))
    path.append(str(Path(SYNCTHING).parent))
    path.append("/usr/local/bin:/usr/bin:/bin")
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join(path),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "ROAM_NO_SYSTEMD": "1",  # never a unit in the real user's systemd
        "ROAM_NO_LAUNCHD": "1",  # nor an agent in their launchd
        "ROAM_SYNCTHING_BIN": SYNCTHING,
    }
    for literal in _SCRATCH_PATHS:
        shutil.rmtree(literal, ignore_errors=True)
    try:
        yield env
    finally:
        _stop_syncthing_under(home)
        for literal in _SCRATCH_PATHS:
            shutil.rmtree(literal, ignore_errors=True)


@pytest.mark.e2e
@pytest.mark.parametrize("block", _BLOCKS, ids=[b.name for b in _BLOCKS])
def test_the_readme_block_runs_as_written(block: Block, scratch: dict[str, str]) -> None:
    if block.not_run is not None:
        pytest.skip(f"marked not-run: {block.not_run}")
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.code],
        cwd=_CLONE,
        env=scratch,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, (
        f"{block.name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
