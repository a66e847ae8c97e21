"""Helpers for tests that run real Syncthing clusters; the fixtures are in ``cluster_fixtures``.

Kept apart from the fixtures so test modules can import these while loading the fixtures with
``pytest_plugins = ["tests.support.cluster_fixtures"]`` (a plugin module must not be imported
before pytest registers it, or its asserts are not rewritten).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

import pytest
import tenacity

from session_roam.engine.syncthing.cluster import Cluster, ClusterSpec
from session_roam.engine.syncthing.node import PID_FILE, stop_pid
from session_roam.errors import SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from session_roam.engine.syncthing.client import SyncthingClient
    from session_roam.engine.syncthing.node import SyncthingProcess

__all__ = [
    "CLUSTER_SPECS",
    "MakeCluster",
    "connections_started",
    "discard",
    "discard_cluster",
    "discard_pid",
    "load_spec",
    "reconnect",
    "running",
    "stop_when_started",
    "wait_until",
]

CLUSTER_SPECS = Path(__file__).resolve().parents[2] / "fixtures" / "clusters"
#: How long a dialler gets to reconnect on its own before it is nudged again: past the test
#: clusters' reconnectionIntervalS (1 s), so a nudge always finds the dial due.
_NUDGE_EVERY_S: Final = 2.0
_RECONNECT_S: Final = 30.0
#: Bound on ``stop_when_started``'s wait (1.29.5 starts a connection ~1 s after it is made).
_STARTING_S: Final = 5.0


class MakeCluster(Protocol):
    def __call__(self, spec: str | ClusterSpec) -> Cluster: ...


def wait_until(check: Callable[[], bool], *, timeout_s: float = 15.0, what: str = "it") -> None:
    """Poll ``check`` until true (bounded), failing the test with ``what`` otherwise."""
    ok: bool = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda done: not done),
        stop=tenacity.stop_after_delay(timeout_s),
        wait=tenacity.wait_fixed(0.05),
        retry_error_callback=lambda _state: False,
    )(check)
    if not ok:
        pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")


def load_spec(spec: str | ClusterSpec) -> ClusterSpec:
    """A spec object, or the one named in ``fixtures/clusters/<name>.toml``."""
    if isinstance(spec, ClusterSpec):
        return spec
    return ClusterSpec.load(CLUSTER_SPECS / f"{spec}.toml")


@contextlib.contextmanager
def running(spec: ClusterSpec, root: Path, binary: str) -> Iterator[Cluster]:
    """The cluster, running for the block; its nodes are discarded (``discard``) afterwards."""
    with Cluster(spec, root, binary=binary) as cluster:
        try:
            yield cluster
        finally:
            discard_cluster(cluster)


def connections_started(client: SyncthingClient, timeout_s: float = _STARTING_S) -> bool:
    """Wait (bounded) until every connection of ``client``'s node has started; False if not.

    1.29.5 lists a new connection as connected with a zero ``startedAt`` for about 1 s (1.19.2
    starts it at once); a node shut down in that window waits out the protocol's 10 s close
    timeout before it exits (measured: 10.01 s every time, 0.6-0.9 s once started).
    """
    deadline = time.monotonic() + timeout_s
    while any(c.connected and c.started_epoch is None for c in client.connections().values()):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def stop_when_started(process: SyncthingProcess) -> None:
    """``process.stop()``, the graceful stop of a machine going off, once its connections have
    started (``connections_started``): the same stop, without 1.29.5's 10 s close timeout."""
    connections_started(process.client)
    process.stop()


def discard(process: SyncthingProcess | None) -> None:
    """End a node the test is done with at once: SIGKILL to its process group, then reap it.

    For fixture finalisers only, where nothing reads the node or its folder again. A graceful
    stop (REST shutdown) takes 0.2-1 s, and on 1.29.5 10 s when a connection is under ~1 s
    old (it waits out the protocol's close timeout); tests that are about stopping keep using
    ``SyncthingProcess.stop``, which this still calls to reap and close the log.
    """
    if process is None:
        return
    groups = _kill_groups(process.pid) if process.pid is not None else set()
    process.stop()
    _wait_groups_gone(groups)


def _kill_groups(monitor: int) -> set[int]:
    """SIGKILL ``monitor``'s process group and its children's: Syncthing's monitor starts the
    node in a process group of its own, which a signal to the monitor's group never reaches
    (the node then outlives the test, until it notices its monitor is gone)."""
    groups = {monitor} | {pgrp for _pid, _state, ppid, pgrp in _processes() if ppid == monitor}
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    return groups


def _wait_groups_gone(groups: set[int], timeout_s: float = 10.0) -> None:
    """Wait until no live process of ``groups`` is left (a killed process may still be ending a
    write); a zombie (state Z) is gone for good."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(
        pgrp in groups and state != "Z" for _pid, state, _ppid, pgrp in _processes()
    ):
        time.sleep(0.01)


def _processes() -> list[tuple[int, str, int, int]]:
    """(pid, state, ppid, process group) of every process, from /proc (empty without it)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
            found.append((int(stat.parent.name), state, int(ppid), int(pgrp)))
        except (OSError, ValueError):
            continue
    return found


def discard_cluster(cluster: Cluster) -> None:
    """``discard`` every node of ``cluster`` (``Cluster.stop`` then has nothing left to do)."""
    for node in cluster.nodes:
        discard(node.process)


def discard_pid(home: Path) -> None:
    """``discard`` for a node ``roam`` started in the background (its PID in ``home``), then
    ``stop_pid`` to reap it and remove the PID file. Only a live syncthing serving ``home``
    (its command line says so) is killed: a stale PID file may name another process now."""
    try:
        pid = int((home / PID_FILE).read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        command = []
    if f"--home={home}".encode() in command:
        groups = _kill_groups(pid)
        with contextlib.suppress(ChildProcessError):  # ours when roam ran in this process
            os.waitpid(pid, 0)
        _wait_groups_gone(groups)
    stop_pid(home)


def reconnect(cluster: Cluster, timeout_s: float = _RECONNECT_S) -> None:
    """Resume every device any node paused and wait until every pair is connected again.

    Deterministic where Syncthing's own redial is not. In a ``Cluster`` only the earlier node of
    each pair dials (the later one knows it as ``dynamic``, with discovery off). A dialler that
    resumes first dials a peer that still has it paused and is refused, and then waits for its
    connection loop (lib/connections/service.go, ``connect``): at least 5 s, and in the first
    minute after start (the loop's "initial rampup", passes 1, 2, 4, 8, 16, 32 s apart) up to
    32 s. 1.29.5 refuses right after TLS, before the hello, so nothing wakes the loop sooner
    (measured: 32.05 s); 1.19.2 refuses after the hello, and where the closed connection wakes
    the loop, its ``redialDevice`` edits a copy and never clears the next-dial time, so the
    wake does not dial (measured: 5 s, and 34 s). So the later node of each pair resumes
    first, and while a pair is apart its dialler is nudged: Syncthing has no REST call to dial
    now, but a config change that un-pauses a device (POST /rest/system/pause, then
    /rest/system/resume, with ``?device=``) wakes the loop, which dials at once since
    ``_NUDGE_EVERY_S`` is past the redial interval (``reconnectionIntervalS``).
    """
    for node in reversed(cluster.nodes):  # acceptors before diallers
        for device, state in node.client.connections().items():
            if state.paused:
                node.client.resume(device)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cluster.wait_connected(min(_NUDGE_EVERY_S, max(deadline - time.monotonic(), 0.1)))
        except SyncTimeout:
            if time.monotonic() >= deadline:
                raise
            _nudge_diallers(cluster)
        else:
            return


def _nudge_diallers(cluster: Cluster) -> None:
    for index, node in enumerate(cluster.nodes):
        connections = node.client.connections()
        for peer in cluster.nodes[index + 1 :]:
            state = connections.get(peer.device_id)
            if state is not None and not state.connected:
                node.client.pause(peer.device_id)
                node.client.resume(peer.device_id)
