"""`roam verify --json` against a real two-node loopback cluster, one dimension broken at a time.

One cluster per module (start ~3 s): the first test proves every check passes on a healthy
cluster; each later test breaks exactly one dimension, asserts that verify reports exactly that
dimension failing, repairs it (with ``--fix`` where verify claims it can) and asserts it is ok
again, leaving the cluster healthy for the next test.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import httpx
import pytest
from typer.testing import CliRunner

from session_roam.cli.app import app
from session_roam.engine.claude.cleanup import SAFE_CLEANUP_DAYS, ensure_safe_cleanup
from session_roam.engine.lease import api as lease
from session_roam.engine.lease.model import Claim, ClaimState, serialize_claim
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.setup import shell
from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec, NodeSpec
from session_roam.engine.syncthing.ignore import STIGNORE, patterns, template_text
from session_roam.engine.syncthing.node import PID_FILE, stop_pid
from session_roam.engine.syncthing.nodeinfo import claude_version, publish, read_nodes
from session_roam.errors import ExitCode
from tests.support.cluster import running, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from session_roam.engine.syncthing.cluster import ClusterNode

pytestmark = pytest.mark.e2e

SPEC: Final = ClusterSpec(name="verify", nodes=(NodeSpec("alpha"), NodeSpec("beta")))
PROJECT: Final = "-verify-proj"
VENV_BIN: Final = str(Path(sys.executable).parent)


def _row(session: str, cwd: str, text: str, parent: str | None = None, **extra: Any) -> str:
    row = {
        "type": "user",
        "uuid": str(uuid.uuid4()),
        "parentUuid": parent,
        "sessionId": session,
        "cwd": cwd,
        "timestamp": "2026-11-25T12:00:00.000Z",
        "message": {"role": "user", "content": text},
        **extra,
    }
    return json.dumps(row) + "\n"


def write_session(
    node: ClusterNode, cwd: str, *, title: str | None = None, project: str = PROJECT
) -> Path:
    session = str(uuid.uuid4())
    text = _row(session, cwd, "hello")
    if title is not None:
        text += json.dumps({"type": "custom-title", "customTitle": title, "sessionId": session})
        text += "\n"
    path = node.projects_dir / project / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def env_of(node: ClusterNode, **extra: str) -> dict[str, str]:
    return {
        "HOME": str(node.home),
        "CLAUDE_CONFIG_DIR": str(node.claude_dir),
        "STHOMEDIR": str(node.syncthing_home),
        "SHELL": "/bin/bash",
        "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
        **extra,
    }


def roam(node: ClusterNode, *args: str, **env: str) -> Any:
    result = CliRunner().invoke(app, list(args), env=env_of(node, **env))
    return result


def verify(node: ClusterNode, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
    result = roam(node, "verify", "--json", "--shell", "bash", *args, **env)
    return result.exit_code, json.loads(result.stdout)


def failing(doc: dict[str, Any]) -> set[str]:
    return {name for name, status in doc["dimensions"].items() if status == "fail"}


def assert_only(node: ClusterNode, dimension: str, *args: str, **env: str) -> dict[str, Any]:
    code, doc = verify(node, *args, **env)
    assert failing(doc) == {dimension}, doc["findings"]
    assert code == ExitCode.VERIFY_FAILED
    return doc


def assert_healthy(node: ClusterNode) -> dict[str, Any]:
    code, doc = verify(node)
    assert failing(doc) == set(), doc["findings"]
    assert code == 0
    return doc


def publish_node(node: ClusterNode, **overrides: Any) -> None:
    values: dict[str, Any] = {
        "device_id": node.device_id,
        "name": node.name,
        "syncthing_version": str(node.client.version()),
        "claude": claude_version(),
    }
    values.update(overrides)
    publish(node.projects_dir, **values)


def wait_for_node_file(reader: ClusterNode, writer: ClusterNode, check: Any) -> None:
    writer.client.scan(SPEC.folder_id, ".roam")

    def arrived() -> bool:
        found = read_nodes(reader.projects_dir).get(writer.device_id)
        return found is not None and found.info is not None and bool(check(found.info))

    wait_until(arrived, what=f"{writer.name}'s node file on {reader.name}")


@contextlib.contextmanager
def healthy_pair(root: Path, syncthing_bin: str) -> Iterator[Cluster]:
    """A pair on which `roam verify` passes every check: shortcuts, node files, one session."""
    with running(SPEC, root, syncthing_bin) as started:
        work = root / "work" / "proj"
        work.mkdir(parents=True)
        for node in started.nodes:
            shell.install("bash", node.home)
            ensure_safe_cleanup(node.claude_dir)  # as roam setup does
            publish_node(node, policy=(True, SAFE_CLEANUP_DAYS))
        write_session(started["alpha"], str(work))
        started.wait_in_sync()
        yield started


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, syncthing_bin: str) -> Iterator[Cluster]:
    with healthy_pair(tmp_path_factory.mktemp("verify"), syncthing_bin) as started:
        yield started


@pytest.fixture(scope="module")
def work(cluster: Cluster) -> str:
    return str(cluster.root / "work" / "proj")


def test_verify_healthy_cluster_passes_every_check(cluster: Cluster) -> None:
    code, doc = verify(cluster["alpha"])
    assert code == 0
    assert doc["schema"] == "roam.verify/1"
    assert doc["dimensions"].pop("watch") == "warn"  # no roam watch runs on a test node
    assert set(doc["dimensions"].values()) == {"ok"}, doc["findings"]


def test_verify_fix_merges_missing_stignore_pattern(cluster: Cluster) -> None:
    alpha = cluster["alpha"]
    path = alpha.projects_dir / STIGNORE
    dropped = patterns(template_text())[0]
    path.write_text(
        "\n".join(line for line in template_text().splitlines() if line.strip() != dropped) + "\n"
    )
    doc = assert_only(alpha, "ignore")
    assert (
        dropped
        in doc["findings"][[f["dimension"] for f in doc["findings"]].index("ignore")]["message"]
    )
    code, fixed = verify(alpha, "--fix")
    assert code == 0
    assert fixed["dimensions"]["ignore"] == "ok"
    assert [a["action"] for a in fixed["fixes"]] == ["stignore-merged"]
    assert dropped in patterns(path.read_text())


def test_verify_fix_merges_pending_conflict_copy(cluster: Cluster, work: str) -> None:
    alpha = cluster["alpha"]
    main = write_session(alpha, work)
    session = main.stem
    first = json.loads(main.read_text())
    copy = main.with_name(f"{session}.sync-conflict-20261125-120000-ABCDEFG.jsonl")
    copy.write_text(main.read_text() + _row(session, work, "from beta", parent=first["uuid"]))
    doc = assert_only(alpha, "conflicts")
    finding = next(f for f in doc["findings"] if f["dimension"] == "conflicts")
    assert finding["fix"] == f"roam conflicts merge {session}"
    assert finding["auto_fix"] is True
    code, fixed = verify(alpha, "--fix")
    assert code == 0, fixed["findings"]
    assert fixed["dimensions"]["conflicts"] == "ok"
    assert not copy.exists()
    assert "from beta" in main.read_text()


def test_verify_reports_agent_session_in_person_namespace(cluster: Cluster, work: str) -> None:
    alpha = cluster["alpha"]
    person = write_session(alpha, work, title="notes", project="-desk")
    agent = write_session(alpha, work, title="agent:bot/triage", project="-desk")
    doc = assert_only(alpha, "namespaces")
    finding = next(f for f in doc["findings"] if f["dimension"] == "namespaces")
    assert "agent:bot/triage" in finding["message"]
    assert "a person's" in finding["message"]
    person.unlink()
    agent.unlink()
    assert_healthy(alpha)


def test_verify_reports_path_with_no_mapping_and_map_fixes_it(cluster: Cluster) -> None:
    alpha = cluster["alpha"]
    foreign = write_session(alpha, "/Users/nat/proj", project="-Users-nat-proj")
    doc = assert_only(alpha, "paths")
    fix = next(f for f in doc["findings"] if f["dimension"] == "paths")["fix"]
    assert fix == f"roam paths map /Users/nat {alpha.home}"
    assert roam(alpha, *fix.split()[1:]).exit_code == 0
    _code, after = verify(alpha)
    assert after["dimensions"]["paths"] != "fail"
    foreign.unlink()
    assert_healthy(alpha)


def test_verify_reports_orphaned_lease_and_release_fixes_it(cluster: Cluster) -> None:
    alpha = cluster["alpha"]
    session = str(uuid.uuid4())
    claim = Claim(session, alpha.device_id, ticket=1, state=ClaimState.HELD, ttl_s=30, counter=1)
    path = alpha.projects_dir / ".roam" / "leases" / session / f"{alpha.device_id}.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(serialize_claim(claim))
    doc = assert_only(alpha, "leases")
    finding = next(f for f in doc["findings"] if f["dimension"] == "leases")
    assert "orphaned" in finding["message"]
    assert finding["fix"] == f"roam lease release {session}"
    # what that command does, through a client this test closes (the CLI's own leaks a socket)
    transport = SyncthingTransport(alpha.client, alpha.projects_dir, SPEC.folder_id)
    assert lease.release(session, engine=lease.engine_for(transport))
    assert_healthy(alpha)


def test_verify_reports_version_skew(cluster: Cluster) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    publish_node(beta, roam_version="0.0.1")
    wait_for_node_file(alpha, beta, lambda info: info.roam_version == "0.0.1")
    doc = assert_only(alpha, "versions")
    assert "0.0.1" in next(f for f in doc["findings"] if f["dimension"] == "versions")["message"]
    publish_node(beta)
    wait_for_node_file(alpha, beta, lambda info: info.roam_version != "0.0.1")
    assert_healthy(alpha)


def test_verify_reports_clock_skew(cluster: Cluster) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    publish_node(beta, clock=time.time() + 300)
    wait_for_node_file(alpha, beta, lambda info: info.clock > time.time() + 200)
    doc = assert_only(alpha, "clock")
    assert "ahead" in next(f for f in doc["findings"] if f["dimension"] == "clock")["message"]
    publish_node(beta)
    wait_for_node_file(alpha, beta, lambda info: info.clock < time.time() + 200)
    assert_healthy(alpha)


def test_verify_advises_missing_shortcuts_without_failing_and_install_fixes_them(
    cluster: Cluster,
) -> None:
    alpha = cluster["alpha"]
    shell.uninstall("bash", alpha.home)
    code, doc = verify(alpha)
    assert (code, failing(doc)) == (ExitCode.OK, set()), doc["findings"]
    assert doc["dimensions"]["shortcuts"] == "advice"
    fix = next(f for f in doc["findings"] if f["dimension"] == "shortcuts")["fix"]
    assert fix == "roam shell install --shell bash"
    assert roam(alpha, *fix.split()[1:]).exit_code == 0
    assert_healthy(alpha)


def test_verify_reports_session_missing_on_peer(cluster: Cluster, work: str) -> None:
    alpha, beta = cluster["alpha"], cluster["beta"]
    ignore = beta.projects_dir / STIGNORE
    original = ignore.read_text()
    session = str(uuid.uuid4())
    ignore.write_text(f"/{PROJECT}/{session}.jsonl\n" + original)
    beta.client.scan(SPEC.folder_id)  # Syncthing reads .stignore again when it scans
    path = alpha.projects_dir / PROJECT / f"{session}.jsonl"
    path.write_text(_row(session, work, "only here"))
    old = time.time() - 60
    os.utime(path, (old, old))
    alpha.client.scan(SPEC.folder_id)
    doc = assert_only(alpha, "sessions")
    assert session in next(f for f in doc["findings"] if f["dimension"] == "sessions")["message"]
    ignore.write_text(original)
    beta.client.scan(SPEC.folder_id)
    wait_until(lambda: (beta.projects_dir / PROJECT / path.name).exists(), what="the session")
    cluster.wait_in_sync()
    assert_healthy(alpha)


def test_verify_warns_about_a_disconnected_peer_without_failing(cluster: Cluster) -> None:
    alpha = cluster["alpha"]
    cluster.pause("beta")
    try:
        code, doc = verify(alpha)
        assert (code, failing(doc)) == (0, set()), doc["findings"]
        assert doc["dimensions"]["peers"] == "warn"
        warned = [f for f in doc["findings"] if f["dimension"] == "peers"]
        assert "not connected" in warned[0]["message"]
    finally:
        cluster.resume("beta")
    assert_healthy(alpha)


def test_verify_reports_folder_not_shared(tmp_path: Path, syncthing_bin: str) -> None:
    # A pair of its own: after a folder is deleted and re-added, Syncthing 1.19.2 sometimes
    # leaves the pair disagreeing on the folder's contents for over 30 s, reconnect or not
    # (seen in 2 of ~12 runs), which would break every test after this one.
    with healthy_pair(tmp_path / "own", syncthing_bin) as own:
        alpha = own["alpha"]
        response = httpx.delete(
            f"{alpha.gui_url}/rest/config/folders/{SPEC.folder_id}",
            headers={"X-API-Key": alpha.api_key},
        )
        response.raise_for_status()
        doc = assert_only(alpha, "folder")
        assert next(f for f in doc["findings"] if f["dimension"] == "folder")["fix"] == "roam setup"


def test_verify_reports_gui_on_network_address(cluster: Cluster) -> None:
    alpha = cluster["alpha"]
    config = alpha.syncthing_home / "config.xml"
    original = config.read_bytes()
    wide = original.replace(
        f"<address>127.0.0.1:{alpha.gui_port}</address>".encode(),
        f"<address>0.0.0.0:{alpha.gui_port}</address>".encode(),
    )
    assert wide != original
    config.write_bytes(wide)  # the running node keeps its loopback bind; verify reads the file
    try:
        doc = assert_only(alpha, "api")
        message = next(f for f in doc["findings"] if f["dimension"] == "api")["message"]
        assert f"0.0.0.0:{alpha.gui_port}" in message
    finally:
        config.write_bytes(original)
    assert_healthy(alpha)


def test_verify_reports_rejected_api_key(cluster: Cluster) -> None:
    alpha = cluster["alpha"]
    doc = assert_only(alpha, "api", STGUIAPIKEY="not-the-key")
    finding = next(f for f in doc["findings"] if f["dimension"] == "api")
    assert finding["fix"] == "unset STGUIAPIKEY"
    assert "not-the-key" not in json.dumps(doc)
    assert_healthy(alpha)


def test_verify_fix_restarts_only_a_syncthing_roam_started(cluster: Cluster) -> None:
    alpha = cluster["alpha"]
    assert alpha.process is not None
    alpha.process.stop()
    doc = assert_only(alpha, "service")
    assert next(f for f in doc["findings"] if f["dimension"] == "service")["auto_fix"] is False
    code, after = verify(alpha, "--fix")
    assert code == ExitCode.VERIFY_FAILED
    assert after["fixes"] == []
    (alpha.syncthing_home / PID_FILE).write_text("999999\n")  # as if `roam setup` started it
    try:
        code, fixed = verify(alpha, "--fix")
        assert [a["action"] for a in fixed["fixes"]] == ["start-syncthing"]
        assert fixed["dimensions"]["service"] == "ok", fixed["findings"]
    finally:
        stop_pid(alpha.syncthing_home)
