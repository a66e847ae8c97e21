"""The lease on real Syncthing nodes over 127.0.0.1: races, kill -9, a paused peer, hand-over.

One pair and one trio per module; short TTLs. Acquisition times are printed for the report
(run with ``-s``) and kept in ``ACQUIRE_TIMES``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import TYPE_CHECKING, Final

import pytest

from session_roam.engine.lease import api as lease
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.syncthing.client import SyncthingClient
from session_roam.engine.syncthing.node import SyncthingProcess
from session_roam.errors import LeaseHeld, PeerUnreachable
from tests.support.cluster import reconnect, stop_when_started, wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from session_roam.engine.lease.engine import LeaseEngine
    from session_roam.engine.syncthing.cluster import Cluster, ClusterNode
    from session_roam.engine.syncthing.models import Event

pytestmark = pytest.mark.e2e

RACES: Final = int(os.environ.get("ROAM_LEASE_RACES", "50"))
LANES: Final = 5
TTL_S: Final = 3.0
#: Races run five lanes at once on two cores: barriers stay well inside RACE_TTL_S / 3.
RACE_TTL_S: Final = 10.0
ACQUIRE_TIMES: dict[int, list[float]] = {}
_INDEX: Final = "RemoteIndexUpdated"


def engine(cluster: Cluster, node: ClusterNode) -> LeaseEngine:
    transport = SyncthingTransport(node.client, node.projects_dir, cluster.spec.folder_id)
    return lease.engine_for(transport)


def race(engines: list[LeaseEngine], session: str) -> tuple[list[lease.Lease], list[float]]:
    """Every node acquires at the same instant; returns the winners and each winner's time."""
    start = threading.Barrier(len(engines))
    winners: list[lease.Lease] = []
    times: list[float] = []
    errors: list[BaseException] = []

    def contend(eng: LeaseEngine) -> None:
        start.wait()
        began = time.perf_counter()
        try:
            won = lease.acquire(session, engine=eng, ttl_s=RACE_TTL_S, timeout_s=20)
        except LeaseHeld:
            return
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)
            return
        times.append(time.perf_counter() - began)
        winners.append(won)

    threads = [threading.Thread(target=contend, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return winners, times


def claims_everywhere(engines: list[LeaseEngine], session: str) -> str:
    """What each node sees, for the failure message of a race that went wrong."""
    lines = []
    for eng in engines:
        for view in eng.views(session):
            c = view.claim
            what = view.error if c is None else f"{c.state.value} t={c.ticket} n={c.counter}"
            lines.append(f"{eng.device_id[:7]} sees {view.device[:7]}: {what} live={view.live}")
    return "\n".join(lines)


def run_lane(
    engines: list[LeaseEngine], races: int, outcomes: list[int], times: list[float]
) -> None:
    """``races`` races over one session, one after the other."""
    session = str(uuid.uuid4())  # raced over and over: tickets keep growing
    for _ in range(races):
        winners, took = race(engines, session)
        outcomes.append(len(winners))
        times.extend(took)
        seen = claims_everywhere(engines, session) if len(winners) != 1 else ""
        for won in winners:  # before failing: a lease left renewing outlives the cluster
            won.release()
        if seen:
            pytest.fail(f"{len(winners)} winners:\n{seen}")


@pytest.mark.parametrize("size", [2, 3])
def test_lease_cluster_races_have_exactly_one_winner(
    size: int, pair: Cluster, trio: Cluster
) -> None:
    cluster = pair if size == 2 else trio
    outcomes: list[int] = []
    times: list[float] = []
    errors: list[BaseException] = []

    def lane() -> None:
        try:
            engines = [engine(cluster, node) for node in cluster.nodes]
            run_lane(engines, RACES // LANES, outcomes, times)
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    # Lanes race different sessions at once: the same protocol, a fifth of the wall time.
    threads = [threading.Thread(target=lane) for _ in range(LANES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    ACQUIRE_TIMES[size] = times
    print(
        f"\n{size} nodes: {len(outcomes)} races, winners per race {sorted(set(outcomes))}, "
        f"acquire p50 {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
    )
    assert outcomes == [1] * (RACES // LANES * LANES)


_HOLDER: Final = """
import sys, time
from pathlib import Path
from session_roam.engine.lease import api as lease
from session_roam.engine.lease.transport import SyncthingTransport
from session_roam.engine.syncthing.client import SyncthingClient
import os
client = SyncthingClient(sys.argv[1], os.environ["STGUIAPIKEY"])
transport = SyncthingTransport(client, Path(sys.argv[2]), sys.argv[3])
held = lease.acquire(sys.argv[4], engine=lease.engine_for(transport), ttl_s=float(sys.argv[5]))
print("held", flush=True)
time.sleep(120)
"""


def test_lease_cluster_kill_9_holder_expires_after_its_ttl(pair: Cluster) -> None:
    alpha, beta = pair.nodes
    session = str(uuid.uuid4())
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _HOLDER,
            alpha.gui_url,
            str(alpha.projects_dir),
            pair.spec.folder_id,
            session,
            str(TTL_S),
        ],
        env={**os.environ, "STGUIAPIKEY": alpha.api_key},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        time.sleep(TTL_S)  # renewed at least twice meanwhile: still held
        with pytest.raises(LeaseHeld, match="is held by alpha"):
            lease.acquire(session, engine=engine(pair, beta), ttl_s=TTL_S)
        holder.kill()
        holder.wait()
        killed = time.monotonic()
        while True:
            try:
                taken = lease.acquire(session, engine=engine(pair, beta), ttl_s=TTL_S)
                break
            except LeaseHeld:
                assert time.monotonic() - killed < TTL_S + 10
                time.sleep(0.25)
        freed_after = time.monotonic() - killed
        taken.release()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    print(f"\nkill -9: session free again {freed_after:.1f} s after the kill (TTL {TTL_S:g} s)")
    # Not before the TTL has passed since the last renewal (at most TTL/3 before the kill).
    assert TTL_S * 2 / 3 - 0.5 <= freed_after <= TTL_S + 10


def test_lease_cluster_grants_with_one_of_three_paused_through_the_majority(
    trio: Cluster,
) -> None:
    alpha, _, gamma = trio.nodes
    session = str(uuid.uuid4())
    alpha.client.pause(gamma.device_id)
    try:
        held = lease.acquire(session, engine=engine(trio, alpha), ttl_s=TTL_S)
        assert held.claim.forced_past == ()
        held.release()
    finally:
        alpha.client.resume(gamma.device_id)
        trio.wait_connected()


def test_lease_cluster_refuses_without_a_majority_and_force_proceeds(trio: Cluster) -> None:
    alpha, beta, gamma = trio.nodes
    session = str(uuid.uuid4())
    alpha.client.pause(beta.device_id)
    alpha.client.pause(gamma.device_id)
    try:
        with pytest.raises(PeerUnreachable, match=r"\(.{7}\) are not connected: only 1 of the 3"):
            lease.acquire(session, engine=engine(trio, alpha), ttl_s=TTL_S)
        forced = lease.acquire(session, engine=engine(trio, alpha), ttl_s=TTL_S, force=True)
        assert set(forced.claim.forced_past) == {beta.device_id, gamma.device_id}
        forced.release()
    finally:
        alpha.client.resume(beta.device_id)
        alpha.client.resume(gamma.device_id)
        trio.wait_connected()


def test_lease_cluster_next_writer_waits_for_the_released_bytes(pair: Cluster) -> None:
    alpha, beta = pair.nodes
    session = str(uuid.uuid4())
    relative = f"-home-user-demo/{session}.jsonl"
    here: Path = alpha.projects_dir / relative
    here.parent.mkdir(parents=True, exist_ok=True)
    here.write_bytes(b'{"turn":1}\n')
    leader = engine(pair, alpha)
    with (
        lease.acquire(session, engine=leader, ttl_s=TTL_S, session_file=here),
        here.open("ab") as out,
    ):
        out.write(b'{"turn":2}\n' * 1000)
    there = beta.projects_dir / relative
    following = lease.acquire(
        session, engine=engine(pair, beta), ttl_s=TTL_S, session_file=there, stamp_timeout_s=15
    )
    try:
        assert there.read_bytes() == here.read_bytes()
    finally:
        following.release()


def test_lease_cluster_release_after_a_syncthing_restart_sees_the_new_events(
    connected: Cluster,
) -> None:
    """Alpha's Syncthing restarts while alpha holds a session: it numbers its events from 1
    again, below the cursor of the subscription the acquisition opened. The release follows it
    to the new stream: beta's confirmation is an event it sees (it woke the wait, or the first
    look found beta already there and the event is next in the stream)."""
    alpha, beta = connected.nodes
    client = SyncthingClient(alpha.gui_url, alpha.api_key)  # outlives the restart, as roam's
    transport = SyncthingTransport(client, alpha.projects_dir, connected.spec.folder_id)
    held = lease.acquire(str(uuid.uuid4()), engine=lease.engine_for(transport), ttl_s=60.0)
    acquired = time.monotonic()
    seen: list[str] = []
    try:
        assert alpha.process is not None
        stop_when_started(alpha.process)
        alpha.process = SyncthingProcess(
            alpha.syncthing_home, binary=connected.binary, env={"HOME": str(alpha.home)}
        ).start()
        reconnect(connected)
        time.sleep(max(0.0, acquired + 6.0 - time.monotonic()))  # a barrier long after the last
        subscription = transport._subscription  # the acquisition's
        assert subscription is not None
        poll = subscription.poll

        def recorded(timeout_s: float = 0.0) -> list[Event]:
            events = poll(timeout_s)
            seen.extend(str(e.data.get("device")) for e in events if e.type == _INDEX)
            return events

        subscription.poll = recorded  # type: ignore[method-assign]
        held.release()
        wait_until(lambda: beta.device_id in seen or bool(recorded(0)), what="beta's event")
    finally:
        held.release()
        transport.close()
    assert beta.device_id in seen
