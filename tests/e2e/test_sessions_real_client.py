"""`roam cn`, `roam cfork`, `roam crf`, `roam ls` and `roam cf` with the real Claude Code 2.1.331.

roam launches the client through `roam cr`'s code path (no Syncthing here, so without a lease,
which roam says); what the stand-in API receives is what the client rebuilt from the files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.paths import project_slug

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.claude import ClaudeDriver, ClaudeHome, MakeHome
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e

_PRINT = ("-p", "--output-format", "json")


def _roam(
    claude: ClaudeDriver, home: ClaudeHome, cwd: Path, claude_bin: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = claude.environment(home, {"ROAM_CLAUDE_BIN": str(claude_bin)})
    return subprocess.run(
        [sys.executable, "-m", "session_roam", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _sessions(home: ClaudeHome, cwd: Path) -> dict[str, bytes]:
    folder = home.project_dir(cwd)
    return {p.stem: p.read_bytes() for p in folder.glob("*.jsonl")} if folder.is_dir() else {}


def test_cn_starts_a_named_session_that_ls_shows(
    claude: ClaudeDriver, claude_bin: Path, make_home: MakeHome, project_cwd: Path
) -> None:
    home = make_home("a")
    done = _roam(claude, home, project_cwd, claude_bin, "cn", "notes-1", "--", "-p", "hello")
    assert done.returncode == 0, done.stderr
    (session_id,) = _sessions(home, project_cwd)
    listed = _roam(claude, home, project_cwd, claude_bin, "ls", "--json")
    (row,) = json.loads(listed.stdout)
    assert (row["session_id"], row["title"], row["first_prompt"]) == (
        session_id,
        "notes-1",
        "hello",
    )


def test_cn_refuses_a_name_outside_the_convention(
    claude: ClaudeDriver, claude_bin: Path, make_home: MakeHome, project_cwd: Path
) -> None:
    home = make_home("a")
    done = _roam(claude, home, project_cwd, claude_bin, "cn", "bad name!", "--", *_PRINT, "hi")
    assert done.returncode == 2
    assert "not a valid session name" in done.stderr
    assert _sessions(home, project_cwd) == {}


def test_cfork_keeps_the_original_byte_identical(
    claude: ClaudeDriver,
    claude_bin: Path,
    fake_api: FakeMessagesApi,
    make_home: MakeHome,
    project_cwd: Path,
) -> None:
    home = make_home("a")
    original = claude.new(home, project_cwd, "remember the word pelican").session_id
    before = home.session_file(project_cwd, original).read_bytes()
    mark = len(fake_api.turns_since(0))
    done = _roam(
        claude, home, project_cwd, claude_bin, "cfork", original[:8], "--", "-p", "what word?"
    )
    assert done.returncode == 0, done.stderr
    after = _sessions(home, project_cwd)
    assert after[original] == before
    (fork,) = set(after) - {original}
    assert b"pelican" in after[fork]
    sent = json.dumps(fake_api.turns_since(mark)[0].messages)
    assert "pelican" in sent


def test_crf_forks_the_most_recent_session(
    claude: ClaudeDriver, claude_bin: Path, make_home: MakeHome, project_cwd: Path
) -> None:
    home = make_home("a")
    claude.new(home, project_cwd, "older session")
    newest = claude.new(home, project_cwd, "newest session about otters").session_id
    before = _sessions(home, project_cwd)
    done = _roam(claude, home, project_cwd, claude_bin, "crf", "--", "-p", "continue")
    assert done.returncode == 0, done.stderr
    after = _sessions(home, project_cwd)
    (fork,) = set(after) - set(before)
    assert after[newest] == before[newest]
    assert b"otters" in after[fork]


def test_foreign_path_session_is_listed_searched_and_forked_after_mapping(
    claude: ClaudeDriver,
    claude_bin: Path,
    make_home: MakeHome,
    project_cwd: Path,
    tmp_path: Path,
) -> None:
    """A session the real client wrote on "a Mac" under /Users/nat/proj, copied here."""
    mac = make_home("mac")
    sid = claude.new(mac, project_cwd, "the walrus protocol").session_id
    recorded = str(project_cwd).encode()
    data = mac.session_file(project_cwd, sid).read_bytes().replace(recorded, b"/Users/nat/proj")
    here = make_home("linux")
    foreign = here.projects_dir / project_slug("/Users/nat/proj")
    foreign.mkdir(parents=True)
    (foreign / f"{sid}.jsonl").write_bytes(data)
    assert json.loads(_roam(claude, here, project_cwd, claude_bin, "ls", "--json").stdout) == []
    mapped = _roam(
        claude, here, project_cwd, claude_bin, "paths", "map", "/Users/nat", str(project_cwd.parent)
    )
    assert mapped.returncode == 0, mapped.stderr
    (row,) = json.loads(_roam(claude, here, project_cwd, claude_bin, "ls", "--json").stdout)
    assert (row["session_id"], row["local_cwd"]) == (sid, str(project_cwd))
    found = _roam(claude, here, project_cwd, claude_bin, "cf", "walrus", "--json")
    assert [m["session_id"] for m in json.loads(found.stdout)] == [sid]
    forked = _roam(claude, here, project_cwd, claude_bin, "crf", "--", "-p", "go on")
    assert forked.returncode == 0, forked.stderr
    assert (foreign / f"{sid}.jsonl").read_bytes() == data
    (fork,) = _sessions(here, project_cwd)
    assert b"walrus" in _sessions(here, project_cwd)[fork]
