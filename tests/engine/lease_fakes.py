"""An in-memory cluster for lease unit tests: instant delivery between connected nodes.

Each node has a real projects folder (so release stamps hash real files) and claim files are
kept in memory per node. ``publish`` delivers at once to connected peers; waiting for a peer that
is not connected raises SyncTimeout, as the real barrier would after its deadline.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from session_roam.engine.lease.engine import LeaseEngine, Peer
from session_roam.engine.lease.local import LocalLocks, ObservationStore
from session_roam.engine.lease.model import Claim, serialize_claim
from session_roam.errors import SyncTimeout

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path


@dataclass(slots=True)
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass(slots=True)
class FakeNet:
    nodes: dict[str, FakeTransport] = field(default_factory=dict)
    down: set[frozenset[str]] = field(default_factory=set)

    def connected(self, a: str, b: str) -> bool:
        return frozenset((a, b)) not in self.down

    def cut(self, a: str, b: str) -> None:
        self.down.add(frozenset((a, b)))

    def isolate(self, name: str) -> None:
        """Switch one machine off, as far as every other machine can tell."""
        for other in self.nodes:
            if other != name:
                self.cut(name, other)

    def heal(self) -> None:
        self.down.clear()


class FakeTransport:
    def __init__(self, net: FakeNet, device_id: str, root: Path) -> None:
        self.net = net
        self._device_id = device_id
        self.root = root
        self.claims: dict[str, dict[str, bytes]] = {}
        self.published: list[Claim] = []
        net.nodes[device_id] = self

    @property
    def device_id(self) -> str:
        return self._device_id

    def device_name(self) -> str:
        return self._device_id.lower()

    def peers(self) -> Sequence[Peer]:
        return [
            Peer(d, d.lower(), self.net.connected(self._device_id, d))
            for d in self.net.nodes
            if d != self._device_id
        ]

    def sessions(self) -> list[str]:
        return sorted(self.claims)

    def read_claims(self, session: str) -> dict[str, bytes]:
        return dict(self.claims.get(session, {}))

    def write_claim(self, claim: Claim) -> None:
        assert claim.device == self._device_id
        self.claims.setdefault(claim.session, {})[claim.device] = serialize_claim(claim)

    def put_raw(self, session: str, device: str, raw: bytes) -> None:
        self.claims.setdefault(session, {})[device] = raw

    def publish(
        self,
        claim: Claim,
        *,
        wait_for: Sequence[str] | Callable[[], Sequence[str]],
        timeout_s: float,
        extra: Sequence[str] = (),
        pull: bool = False,
    ) -> None:
        # Delivery is instant, so there is never anything left to pull.
        wait_for = wait_for() if callable(wait_for) else wait_for
        self.published.append(claim)
        raw = self.claims[claim.session][claim.device]
        for device, node in self.net.nodes.items():
            if device == self._device_id or not self.net.connected(self._device_id, device):
                continue
            for relative in extra:
                target = node.root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.root / relative, target)
            node.put_raw(claim.session, claim.device, raw)
        missing = [d for d in wait_for if not self.net.connected(self._device_id, d)]
        if missing:
            raise SyncTimeout(f"{missing} did not confirm within {timeout_s:g} s.")


def make_engine(transport: FakeTransport, clock: FakeClock, state: Path) -> LeaseEngine:
    base = state / transport.device_id
    return LeaseEngine(
        transport,
        observations=ObservationStore(base / "observations.json"),
        locks=LocalLocks(base / "locks"),
        clock=clock,
        sleep=clock.sleep,
        boot="boot-1",
    )
