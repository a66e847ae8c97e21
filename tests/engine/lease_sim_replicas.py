"""The replicas of the lease simulation: Syncthing's part, storing and relaying claim files.

Every replica (a trusted machine or an always-on vault) keeps the newest version of each claim
file and relays a version it stores to every other replica. A version that comes back to its
writer is the sender's announcement of it, the writer's ack. With ``SimConfig.pull_s`` a file's
data arrives up to that long after its announcement, and the replica relays it only once it has
it, as Syncthing does; ``announced`` remembers what the pull after a barrier must wait for.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Final

from session_roam.engine.lease.model import serialize_claim
from tests.engine.lease_sim_config import Replica
from tests.engine.lease_sim_net import Message, Network, Power

if TYPE_CHECKING:
    import random

    from session_roam.engine.lease.model import Claim
    from tests.engine.lease_sim_config import SimConfig

__all__ = ["Replicas"]

_NONE: Final = (0, b"")


class Replicas(Network):
    """The cluster's replicas over the network; ``check_barrier`` is the roam process's hook."""

    def __init__(self, config: SimConfig, rng: random.Random) -> None:
        self.trusted = [f"DEV{i}" for i in range(config.nodes)]
        self.vaults = [f"VAULT{i}" for i in range(config.vaults)]
        names = self.trusted + self.vaults
        super().__init__(
            names,
            rng,
            max_delay_s=config.max_delay_s,
            spike_delay_s=config.spike_delay_s,
            spike_p=config.spike_p,
        )
        self.config = config
        self.nodes = {
            name: Replica(
                name, vault=name in self.vaults, peers=tuple(p for p in names if p != name)
            )
            for name in names
        }

    def check_barrier(self, node: Replica) -> None:
        """Something a barrier may be waiting for arrived at ``node`` (an ack or pulled data)."""

    def store(self, node: Replica, message: Message) -> None:
        """Keep ``message`` if it is newer than our copy, and relay it to every other replica."""
        writer, version = message.writer, message.version
        if node.files.get(writer, _NONE)[0] >= version:
            return
        node.files[writer] = (version, message.raw)
        heard = node.heard
        for peer in node.peers:
            # The writer always hears of it: that is our announcement, its ack. A replica that
            # has this version already would ignore it (skipped only to save time).
            if peer == writer or (
                heard.get((peer, writer), 0) < version
                and self.nodes[peer].files.get(writer, _NONE)[0] < version
            ):
                self.send(node.device, peer, message)

    def receive(self, dst: str, src: str, message: Message) -> None:
        node = self.nodes[dst]
        writer, version = message.writer, message.version
        key = (src, writer)
        if node.heard.get(key, 0) < version:
            node.heard[key] = version
        if writer == dst:
            if node.acked.get(src, 0) < version:
                node.acked[src] = version
                if node.waiting is not None:
                    self.check_barrier(node)
            return
        if self.config.pull_s <= 0:
            self.store(node, message)
            return
        # Told of it now, has it later: Syncthing pulls the data after the index entry.
        if node.announced.get(writer, 0) < version:
            node.announced[writer] = version
        pull = self.now + self.rng.uniform(0, self.config.pull_s)
        self.at(pull, functools.partial(self.pulled, node, message))

    def pulled(self, node: Replica, message: Message) -> None:
        if self.power[node.device] is not Power.DEAD:
            self.store(node, message)
            if node.pulling:
                self.check_barrier(node)

    def publish(self, node: Replica, claim: Claim) -> int:
        node.seq += 1
        self.store(node, Message(node.device, node.seq, serialize_claim(claim)))
        return node.seq
