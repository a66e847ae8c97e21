"""Issue 22 on two real Syncthing 1.19.2 nodes: a hostile peer plants symlinks, roam follows none.

Beta plays the hostile peer. It plants, in the synced folder, ``<id>.jsonl`` as a symlink to
``../../history.jsonl`` with a conflict copy beside it (the issue's first case), a conflict copy
that is a symlink inside ``<id>/subagents/``, a project folder that is a symlink out of the
folder, and a symlinked ``.roam/leases/<id>``. Syncthing carries them as symlinks. ``roam watch``
runs on alpha the whole time. Alpha's own ``~/.claude/history.jsonl`` (a decoy secret) must
never reach the synced folder, its backups, or beta, and nothing outside the folder changes.

The deletion code gets its own hostile peer: a symlinked transcript pointing at a decoy outside
the folder, and tombstones that list ``../..`` paths and another session's files. ``roam
restore --all`` and one heal pass of ``roam watch`` on alpha remove nothing the tombstones
name but their own session's files, and never put the decoy's bytes anywhere. A machine name
full of escapes and markup in beta's node file and claim reaches alpha's terminal escaped, and
a link beta plants at alpha's own node file does not stop alpha's ``roam watch``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from session_roam.engine.conflicts.watch import Watcher, WatchEvent
from session_roam.engine.core.backup import backups_root
from session_roam.engine.deletions import heal
from session_roam.engine.lease import api as lease
from session_roam.engine.lease.model import Claim, ClaimState, serialize_claim
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec, NodeSpec
from session_roam.engine.syncthing.config import read_config
from session_roam.engine.syncthing.nodeinfo import publish
from session_roam.engine.verify.checks_synced import gather_synced_data
from tests.e2e.cr_support import home_of, roam_argv, roam_env, run_roam
from tests.support.cluster import running, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from session_roam.engine.syncthing.cluster import ClusterNode
    from tests.support.claude import ClaudeDriver
    from tests.support.fake_api import FakeMessagesApi

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning"),
]

SPEC: Final = ClusterSpec(name="hostile", nodes=(NodeSpec("alpha"), NodeSpec("beta")))
PROJECT: Final = "-hostile-proj"
DECOY: Final = "ALPHA-PRIVATE-HISTORY-5b1e"
STAMP: Final = "20261125-120000-BBBBBBB"


def _row(session: str, text: str) -> str:
    line = {
        "type": "user",
        "uuid": str(uuid.uuid4()),
        "parentUuid": None,
        "sessionId": session,
        "cwd": "/tmp/hostile-proj",
        "timestamp": "2026-11-25T12:00:00.000Z",
        "message": {"role": "user", "content": text},
    }
    return json.dumps(line) + "\n"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, syncthing_bin: str) -> Iterator[Cluster]:
    with running(SPEC, tmp_path_factory.mktemp("hostile"), syncthing_bin) as started:
        yield started


@pytest.fixture
def watch_events(cluster: Cluster) -> Iterator[list[WatchEvent]]:
    """``roam watch``'s engine on alpha, in a thread, for the length of the test."""
    node = cluster["alpha"]
    config = read_config(node.syncthing_home)
    client = SyncthingClient(config.base_url, config.api_key)
    engine = lease.engine_for(SyncthingTransport(client, node.projects_dir, SPEC.folder_id))
    events: list[WatchEvent] = []
    watcher = Watcher(
        node.projects_dir,
        is_live=lambda s: lease.is_live(s, engine=engine),
        debounce_s=0.5,
        retry_s=0.5,
        rescan_s=1.0,
        on_event=events.append,
    )
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        yield events
    finally:
        watcher.stop()
        thread.join(timeout=10)
        client.close()


def _regular_bytes(*roots: Path) -> bytes:
    found = b""
    for root in roots:
        for here, _dirs, files in os.walk(root):
            for name in files:
                path = Path(here) / name
                if not path.is_symlink():
                    found += path.read_bytes()
    return found


def _plant(beta: ClusterNode, session: str) -> list[str]:
    """Beta's hostile files; returns their folder-relative paths."""
    project = beta.projects_dir / PROJECT
    sub = project / session / "subagents"
    sub.mkdir(parents=True)
    (project / f"{session}.jsonl").symlink_to("../../history.jsonl")
    (project / f"{session}.sync-conflict-{STAMP}.jsonl").write_text(_row(session, "from beta"))
    (sub / f"agent-a.sync-conflict-{STAMP}.jsonl").symlink_to("../../../../history.jsonl")
    outside = f"-outside-{session[:8]}"
    (beta.projects_dir / outside).symlink_to("../..")
    leases = beta.projects_dir / ".roam" / "leases"
    leases.mkdir(parents=True, exist_ok=True)
    (leases / session).symlink_to("../../..")
    return [
        f"{PROJECT}/{session}.jsonl",
        f"{PROJECT}/{session}/subagents/agent-a.sync-conflict-{STAMP}.jsonl",
        outside,
        f".roam/leases/{session}",
    ]


def test_a_hostile_peers_symlinks_never_carry_alphas_history_anywhere(
    cluster: Cluster, watch_events: list[WatchEvent]
) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    history = alpha.claude_dir / "history.jsonl"
    history.write_text(_row("00000000-0000-4000-8000-000000000000", DECOY))
    before = history.read_bytes()
    session = str(uuid.uuid4())
    planted = _plant(beta, session)
    beta.client.scan(SPEC.folder_id)
    wait_until(
        lambda: all(os.path.islink(alpha.projects_dir / p) for p in planted),
        timeout_s=30,
        what="beta's symlinks on alpha",
    )
    copy = alpha.projects_dir / PROJECT / f"{session}.sync-conflict-{STAMP}.jsonl"
    wait_until(copy.exists, what="beta's conflict copy on alpha")
    wait_until(
        lambda: any(e.session.session_id == session for e in watch_events),
        timeout_s=15,
        what="roam watch to look at the session",
    )
    time.sleep(2.0)  # a rescan or two more: nothing may change in the meantime either
    cluster.wait_in_sync()
    assert next(e.action for e in watch_events if e.session.session_id == session) == "failed"
    assert history.read_bytes() == before
    assert all(os.path.islink(alpha.projects_dir / p) for p in planted)
    assert copy.exists(), "the copy beside the link was merged or removed"
    leaked = _regular_bytes(alpha.projects_dir, beta.projects_dir, backups_root().parent)
    assert DECOY.encode() not in leaked
    links, _ignored = gather_synced_data(alpha.projects_dir)
    assert set(planted) <= set(links)


def test_cr_refuses_to_write_its_claim_through_a_planted_lease_link(
    cluster: Cluster,
    claude: ClaudeDriver,
    claude_bin: Path,
    fake_api: FakeMessagesApi,
    project_cwd: Path,
) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    session = claude.new(home_of(alpha), project_cwd, "one on alpha").session_id
    cluster.wait_in_sync()
    leases = beta.projects_dir / ".roam" / "leases"
    leases.mkdir(parents=True, exist_ok=True)
    (leases / session).symlink_to("../../..")
    beta.client.scan(SPEC.folder_id)
    planted = alpha.projects_dir / ".roam" / "leases" / session
    wait_until(lambda: os.path.islink(planted), timeout_s=30, what="the lease link on alpha")
    outside = sorted(p.name for p in alpha.claude_dir.iterdir())
    mark = fake_api.mark()
    done = run_roam(
        ["cr", session, "--", "-p", "two on alpha"],
        cwd=project_cwd,
        env=roam_env(claude, alpha, claude_bin),
    )
    assert done.returncode == 2, done.stderr
    assert "symbolic link" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in alpha.claude_dir.iterdir()) == outside
    assert fake_api.turns_since(mark) == [], "claude was started"


def _plant_deletions(beta: ClusterNode, linked: str, victim: str) -> list[str]:
    """A transcript linked to a file outside the folder, and tombstones that overreach."""
    project = beta.projects_dir / PROJECT
    project.mkdir(parents=True, exist_ok=True)
    (project / f"{linked}.jsonl").symlink_to("../../../decoy-secret.jsonl")
    stones = beta.projects_dir / ".roam" / "tombstones"
    stones.mkdir(parents=True, exist_ok=True)
    reach = [f"{PROJECT}/{victim}.jsonl", "../..", "../../../decoy-secret.jsonl", "/etc/passwd"]
    stone = {
        "schema": "roam.tombstone/1",
        "session": linked,
        "removed_by": beta.device_id,
        "removed_at": "2026-11-25T12:00:00+00:00",
        "paths": reach,
    }
    (stones / f"{linked}.json").write_text(json.dumps(stone))
    # a tombstone filed under the victim's name that names the linked session
    (stones / f"{victim}.json").write_text(json.dumps(stone))
    return [f"{PROJECT}/{linked}.jsonl", f".roam/tombstones/{linked}.json"]


def test_a_hostile_peers_link_and_overreaching_tombstones_never_reach_the_decoy(
    cluster: Cluster, claude: ClaudeDriver, claude_bin: Path, project_cwd: Path
) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    decoy = alpha.home / "decoy-secret.jsonl"
    decoy.write_text(_row("00000000-0000-4000-8000-000000000001", DECOY))
    decoy_before = decoy.read_bytes()
    victim, linked = str(uuid.uuid4()), str(uuid.uuid4())
    held = alpha.projects_dir / PROJECT / f"{victim}.jsonl"
    held.parent.mkdir(parents=True, exist_ok=True)
    held.write_text(_row(victim, "alpha's own session"))
    held_before = held.read_bytes()
    env = roam_env(claude, alpha, claude_bin)
    first = run_roam(["restore", "--all"], cwd=project_cwd, env=env)  # archives the victim
    assert first.returncode == 0, first.stderr
    planted = _plant_deletions(beta, linked, victim)
    beta.client.scan(SPEC.folder_id)
    wait_until(
        lambda: all(os.path.lexists(alpha.projects_dir / p) for p in planted),
        timeout_s=30,
        what="beta's link and tombstones on alpha",
    )
    config = read_config(alpha.syncthing_home)
    with SyncthingClient(config.base_url, config.api_key) as client:
        healed = heal(alpha.projects_dir, client, SPEC.folder_id)  # one cycle of roam watch
    done = run_roam(["restore", "--all"], cwd=project_cwd, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert healed.removed == ()
    assert decoy.read_bytes() == decoy_before
    assert held.read_bytes() == held_before
    assert os.path.islink(alpha.projects_dir / planted[0])
    state = alpha.home / ".local" / "state"
    leaked = _regular_bytes(alpha.projects_dir, beta.projects_dir, state, backups_root().parent)
    assert DECOY.encode() not in leaked
    assert DECOY not in done.stdout + done.stderr


#: A machine name from a hostile peer: clear screen, OSC 52, a C1 CSI, a bidi override, markup.
HOSTILE_NAME: Final = "b\x1b[2J\x1b]52;c;aGk=\x07\x9b31m\u202e[/bold][link=https://x]y[/link]"


def test_a_hostile_peers_machine_name_reaches_no_terminal_raw(
    cluster: Cluster, claude: ClaudeDriver, claude_bin: Path, project_cwd: Path
) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    session = str(uuid.uuid4())
    publish(
        beta.projects_dir,
        device_id=beta.device_id,
        name=HOSTILE_NAME * 8,
        syncthing_version="v1.19.2" + HOSTILE_NAME,
        claude="2.1.331",
    )
    claim = Claim(session, beta.device_id, 3, ClaimState.HELD, 30.0, 1, since=HOSTILE_NAME)
    claim_file = beta.projects_dir / ".roam" / "leases" / session / f"{beta.device_id}.json"
    claim_file.parent.mkdir(parents=True, exist_ok=True)
    claim_file.write_bytes(serialize_claim(dataclasses.replace(claim, name=HOSTILE_NAME)))
    beta.client.scan(SPEC.folder_id)
    arrived = alpha.projects_dir / ".roam" / "leases" / session / claim_file.name
    wait_until(arrived.exists, timeout_s=30, what="beta's claim on alpha")
    env = roam_env(claude, alpha, claude_bin, {"COLUMNS": "400"})
    for args in (["status"], ["lease", "status"], ["verify"]):
        done = run_roam(args, cwd=project_cwd, env=env)
        shown = done.stdout + done.stderr
        assert done.returncode != 1, (args, shown)
        assert "Traceback" not in shown, args
        assert not any(ch in shown for ch in "\x1b\x07\x9b\u202e"), (args, shown)
    lease_status = run_roam(["lease", "status"], cwd=project_cwd, env=env).stdout
    assert (
        "b\\x1b[2J\\x1b]52;c;aGk=\\x07\\x9b31m\\u202e[/bold][link=https://x]y[/link]"
        in lease_status
    )


def test_roam_watch_keeps_running_when_a_peer_plants_a_link_at_its_node_file(
    cluster: Cluster, claude: ClaudeDriver, claude_bin: Path, project_cwd: Path
) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    decoy = alpha.home / "decoy-node.json"
    decoy.write_text(DECOY)
    cluster.wait_in_sync()  # beta replaces the node file alpha last wrote, not an older one
    nodes = beta.projects_dir / ".roam" / "nodes"
    nodes.mkdir(parents=True, exist_ok=True)
    (nodes / f"{alpha.device_id}.json").unlink(missing_ok=True)
    (nodes / f"{alpha.device_id}.json").symlink_to("../../../../decoy-node.json")
    beta.client.scan(SPEC.folder_id)
    planted = alpha.projects_dir / ".roam" / "nodes" / f"{alpha.device_id}.json"
    wait_until(lambda: os.path.islink(planted), timeout_s=30, what="the node file link on alpha")
    env = roam_env(claude, alpha, claude_bin)
    with subprocess.Popen(  # the real `roam watch`, stopped by the test
        roam_argv(["watch"]), cwd=project_cwd, env=env, stderr=subprocess.PIPE, text=True
    ) as watch:
        assert watch.stderr is not None
        first = [watch.stderr.readline(), watch.stderr.readline()]
        time.sleep(2.0)
        running = watch.poll() is None
        watch.terminate()
        rest = watch.communicate(timeout=10)[1]
    assert running, "".join(first) + rest
    assert "symbolic link" in first[0]
    assert first[1].startswith("Watching ")
    assert decoy.read_text() == DECOY
    assert os.path.islink(planted)
