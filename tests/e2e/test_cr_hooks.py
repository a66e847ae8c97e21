"""``roam hooks install`` makes a plain ``claude`` (real client, real Syncthing) take the lease.

SessionStart starts a keeper that claims the lease; when claude is gone the keeper releases it
with a stamp of the file as claude left it, and the turns are in this machine's journal.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.lease.api import file_stamp
from tests.e2e.cr_support import home_of, protect_markers, roam_env, run_roam
from tests.support.cluster import wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster
    from tests.support.claude import ClaudeDriver

pytestmark = pytest.mark.e2e


def _claim(path: Path) -> dict[str, object]:
    try:
        data: dict[str, object] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data


def test_cr_hooks_make_a_plain_claude_claim_and_release_the_lease(
    pair: Cluster, claude: ClaudeDriver, claude_bin: Path, project_cwd: Path
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    protect_markers(pair)
    env = roam_env(claude, alpha, claude_bin)
    installed = run_roam(["hooks", "install"], cwd=project_cwd, env=env)
    assert installed.returncode == 0, installed.stderr
    settings = json.loads((alpha.claude_dir / "settings.json").read_text())
    assert set(settings["hooks"]) == {"SessionStart", "SessionEnd"}
    machine = {k: env[k] for k in ("STHOMEDIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME")}
    run = claude.new(home_of(alpha), project_cwd, "plain claude with hooks", env=machine)
    session = run.session_id
    claim_file = alpha.projects_dir / ".roam" / "leases" / session / f"{alpha.device_id}.json"
    wait_until(
        lambda: _claim(claim_file).get("state") == "released",
        timeout_s=30,
        what="the keeper to release the lease after claude exited",
    )
    stamp = file_stamp(home_of(alpha).session_file(project_cwd, session))
    assert stamp is not None
    release = _claim(claim_file)["release"]
    assert isinstance(release, dict)
    assert (release["size"], release["sha256"]) == (stamp.size, stamp.sha256)
    beta_copy = beta.projects_dir / claim_file.relative_to(alpha.projects_dir)
    wait_until(
        lambda: _claim(beta_copy).get("state") == "released",
        timeout_s=15,
        what="beta to see the release",
    )
    journal = alpha.home / ".local" / "state" / "session-roam" / "journal" / f"{session}.jsonl"
    texts = journal.read_text()
    assert "plain claude with hooks" in texts
