"""The whole session travels, checked with the real Claude Code 2.1.331.

The client writes a session's companions outside ``projects/`` (file history for /rewind,
tasks, a plan). After a hand-over with ``roam cr`` on a real pair of Syncthing nodes the other
machine holds them byte for byte; and a session exported with ``roam export`` and imported on a
third home outside any cluster resumes whole there: the resumed client sends every turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.cr_support import home_of, roam_env, run_roam, sent_user_texts
from tests.support.cluster import wait_until
from tests.support.companion_api import COMPANION_ENV, COMPANION_TOOLS, companion_responder
from tests.support.fake_api import FakeMessagesApi

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from session_roam.engine.syncthing.cluster import Cluster
    from tests.support.claude import ClaudeDriver, ClaudeHome, MakeHome

pytestmark = pytest.mark.e2e

_TOOLS = ("--allowedTools", ",".join(COMPANION_TOOLS))


@pytest.fixture
def fake_api() -> Iterator[FakeMessagesApi]:
    """The stand-in API, answering the prompt markers that make the client write companions."""
    with FakeMessagesApi(companion_responder) as api:
        yield api


def _companions(home: ClaudeHome) -> dict[str, bytes]:
    """Every companion file under the home's config folder, by path relative to it."""
    found = {}
    for kind in ("file-history", "tasks", "plans", "todos"):
        for path in sorted((home.claude_dir / kind).rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                found[path.relative_to(home.claude_dir).as_posix()] = path.read_bytes()
    return found


def _work(claude: ClaudeDriver, home: ClaudeHome, cwd: Path) -> tuple[str, list[str]]:
    """A session with file edits, a task and a plan; its id and its prompts, in order."""
    prompts = [f"WRITE {cwd}/notes.txt first draft", f"EDIT {cwd}/notes.txt first second"]
    prompts += ["TASK migrate the birds", "PLAN # The plan: move the pelicans first"]
    session = claude.new(home, cwd, prompts[0], allowed_tools=COMPANION_TOOLS, env=COMPANION_ENV)
    for prompt in prompts[1:]:
        plan = ["--permission-mode", "plan"] if prompt.startswith("PLAN") else []
        claude.resume(
            home,
            cwd,
            session.session_id,
            prompt,
            allowed_tools=COMPANION_TOOLS,
            env=COMPANION_ENV,
            extra_args=plan,
        )
    return session.session_id, prompts


def _kinds(companions: dict[str, bytes]) -> set[str]:
    return {name.split("/", 1)[0] for name in companions}


def test_after_a_handover_with_cr_the_other_machine_holds_every_companion_byte_for_byte(
    connected: Cluster,
    claude: ClaudeDriver,
    claude_bin: Path,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    session, prompts = _work(claude, home_of(alpha), project_cwd)
    on_alpha = run_roam(
        ["cr", session, "--", "-p", "TASK one more on alpha", *_TOOLS],
        cwd=project_cwd,
        env=roam_env(claude, alpha, claude_bin, COMPANION_ENV),
    )
    assert on_alpha.returncode == 0, on_alpha.stderr
    written = _companions(home_of(alpha))
    assert _kinds(written) == {"file-history", "tasks", "plans"}
    mark = fake_api.mark()
    on_beta = run_roam(
        ["cr", session, "--", "-p", "now on beta"],
        cwd=project_cwd,
        env=roam_env(claude, beta, claude_bin, COMPANION_ENV),
    )
    assert on_beta.returncode == 0, on_beta.stderr
    on_beta_now = _companions(home_of(beta))  # beta's own turn adds snapshots of its own
    assert {name: on_beta_now.get(name) for name in written} == written
    assert sent_user_texts(fake_api, mark) == [*prompts, "TASK one more on alpha", "now on beta"]


def test_an_exported_session_resumes_whole_on_a_home_outside_the_cluster(
    claude: ClaudeDriver,
    fake_api: FakeMessagesApi,
    make_home: MakeHome,
    project_cwd: Path,
    tmp_path: Path,
    claude_bin: Path,
) -> None:
    here, third = make_home("here"), make_home("third")
    session, prompts = _work(claude, here, project_cwd)
    exported = tmp_path / "handover.roam.tgz"
    out = run_roam(
        ["export", session, "-o", str(exported)],
        cwd=project_cwd,
        env=claude.environment(here, {"ROAM_CLAUDE_BIN": str(claude_bin)}),
    )
    assert out.returncode == 0, out.stderr
    elsewhere = tmp_path / "elsewhere" / "checkout"  # another path for the same project
    elsewhere.mkdir(parents=True)
    third_env = claude.environment(third, {"ROAM_CLAUDE_BIN": str(claude_bin)})
    imported = run_roam(["import", str(exported)], cwd=elsewhere, env=third_env)
    assert imported.returncode == 0, imported.stderr
    assert _companions(third) == _companions(here)
    mark = fake_api.mark()
    claude.resume(third, elsewhere, session, "resumed on the third home")
    assert sent_user_texts(fake_api, mark) == [*prompts, "resumed on the third home"]
    mark = fake_api.mark()  # and through roam, which finds it from the same directory
    by_roam = run_roam(["cr", "--", "-p", "and through roam cr"], cwd=elsewhere, env=third_env)
    assert by_roam.returncode == 0, by_roam.stderr
    expected = [*prompts, "resumed on the third home", "and through roam cr"]
    assert sent_user_texts(fake_api, mark) == expected


def test_a_plain_claude_with_roams_hooks_carries_its_companions_to_the_other_machine(
    connected: Cluster, claude: ClaudeDriver, claude_bin: Path, project_cwd: Path
) -> None:
    alpha, beta = connected["alpha"], connected["beta"]
    env = roam_env(claude, alpha, claude_bin)
    assert run_roam(["hooks", "install"], cwd=project_cwd, env=env).returncode == 0
    try:
        machine = {k: env[k] for k in ("STHOMEDIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME")}
        run = claude.new(
            home_of(alpha),
            project_cwd,
            "TASK started by a plain claude",
            allowed_tools=COMPANION_TOOLS,
            env={**machine, **COMPANION_ENV},
        )
        session = run.session_id
        claim = alpha.projects_dir / ".roam" / "leases" / session / f"{alpha.device_id}.json"
        wait_until(
            lambda: '"released"' in (claim.read_text() if claim.exists() else ""),
            timeout_s=30,
            what="the keeper to carry the companions and release the lease",
        )
    finally:
        run_roam(["hooks", "uninstall"], cwd=project_cwd, env=env)
    written = _companions(home_of(alpha))
    task = f"tasks/{session}/1.json"
    assert task in written
    on_beta = run_roam(
        ["cr", session, "--", "-p", "now on beta"],
        cwd=project_cwd,
        env=roam_env(claude, beta, claude_bin),
    )
    assert on_beta.returncode == 0, on_beta.stderr
    assert _companions(home_of(beta)).get(task) == written[task]
