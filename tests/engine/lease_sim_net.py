"""The network half of the lease simulation: a clock, FIFO links that go down, and relaying.

Each pair of replicas has one connection, modelled as two FIFO channels (Syncthing sends one
device's index updates in order over one connection). A message is a claim file version
``(writer, version, raw)``: a node that stores a version newer than its own copy sends it on to
every other replica, and when a version comes back to its writer, that is the sender's
announcement of it (``availability``), the writer's ack. Every ack from a peer arrives after its
announcements of everything it had stored before; whether the data has arrived too is the
receiver's business (``lease_sim``: the pull after each barrier).

A link is down while any fault covers it (a pause, a partition) or while either end is off.
Nothing crosses a down link; what was queued on it is delivered in order once it is up again,
which is what Syncthing's index exchange on reconnect amounts to for newest-version files.
A replica that crashed for good sends and receives nothing more.
"""

from __future__ import annotations

import collections
import enum
import functools
import heapq
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

__all__ = ["Message", "Network", "Power"]


class Power(enum.Enum):
    UP = "up"
    OFF = "off"  # will come back: files persist, the roam process is gone
    DEAD = "dead"  # crashed for good


@dataclass(frozen=True, slots=True)
class Message:
    writer: str
    version: int
    raw: bytes


@dataclass(slots=True)
class _Channel:
    src: str
    dst: str
    queue: collections.deque[tuple[float, Message]] = field(default_factory=collections.deque)
    last: float = 0.0
    pumping: bool = False
    pump: Callable[[], None] = lambda: None  # delivers the head of the queue (set by Network)


class Network:
    """Event queue, replicas' power, link faults and FIFO channels; subclasses add behaviour."""

    def __init__(
        self,
        names: list[str],
        rng: random.Random,
        *,
        max_delay_s: float,
        spike_delay_s: float,
        spike_p: float,
    ) -> None:
        self.names = names
        self.rng = rng
        self.now = 0.0
        self.max_delay_s = max_delay_s
        self.spike_delay_s = spike_delay_s
        self.spike_p = spike_p
        self.queue: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.power = dict.fromkeys(names, Power.UP)
        self.faults: dict[frozenset[str], int] = {}
        pairs = list(itertools.permutations(names, 2))
        self.channels = {pair: _Channel(*pair) for pair in pairs}
        for channel in self.channels.values():
            channel.pump = functools.partial(self._pump, channel)
        self.up = dict.fromkeys(pairs, True)  # connected(a, b), kept current by _recompute

    # --- hooks for subclasses -----------------------------------------------------------------
    def receive(self, dst: str, src: str, message: Message) -> None:
        raise NotImplementedError

    def link_lost(self, a: str, b: str) -> None:
        """Called for each end of a link that just went down (both ends still on)."""

    # --- clock ----------------------------------------------------------------------------------
    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (when, next(self.seq), action))

    def run_until(self, horizon: float) -> None:
        queue = self.queue
        while queue and queue[0][0] <= horizon:
            when, _, action = heapq.heappop(queue)
            self.now = when
            action()

    # --- links ----------------------------------------------------------------------------------
    def connected(self, a: str, b: str) -> bool:
        return self.up[(a, b)]

    def _recompute(self, a: str, b: str) -> bool:
        up = (
            self.power[a] is Power.UP
            and self.power[b] is Power.UP
            and not self.faults.get(frozenset((a, b)))
        )
        self.up[(a, b)] = self.up[(b, a)] = up
        return up

    def delay(self) -> float:
        rng = self.rng
        delay = 0.001 + (self.max_delay_s - 0.001) * rng.random()
        if rng.random() < self.spike_p:
            delay += self.spike_delay_s * rng.random()
        return delay

    def send(self, src: str, dst: str, message: Message) -> None:
        if self.power[dst] is Power.DEAD:
            return
        pair = (src, dst)
        channel = self.channels[pair]
        when = self.now + self.delay()
        if when < channel.last:
            when = channel.last
        channel.last = when
        channel.queue.append((when, message))
        if not channel.pumping and self.up[pair]:
            channel.pumping = True
            heapq.heappush(self.queue, (when, next(self.seq), channel.pump))

    def _pump(self, channel: _Channel) -> None:
        queue = channel.queue
        if not queue or not self.up[(channel.src, channel.dst)]:
            channel.pumping = False  # resumed by _resume when the link is up again
            return
        message = queue.popleft()[1]
        self.receive(channel.dst, channel.src, message)
        if queue:
            when = queue[0][0]
            if when < self.now:
                when = self.now
            heapq.heappush(self.queue, (when, next(self.seq), channel.pump))
        else:
            channel.pumping = False

    def _resume(self, a: str, b: str) -> None:
        """The link a-b is up again: what waited on it goes now, a reconnect later, in order."""
        for src, dst in ((a, b), (b, a)):
            channel = self.channels[(src, dst)]
            if channel.queue and not channel.pumping:
                channel.pumping = True
                when = max(self.now + self.delay(), channel.queue[0][0])
                self.at(when, channel.pump)

    def fault(self, pairs: list[frozenset[str]], duration: float) -> None:
        """Take the links ``pairs`` down now, for ``duration`` seconds (faults may overlap)."""
        for pair in pairs:
            a, b = sorted(pair)
            was_up = self.connected(a, b)
            self.faults[pair] = self.faults.get(pair, 0) + 1
            if was_up and not self._recompute(a, b):
                self.link_lost(a, b)
                self.link_lost(b, a)
        self.at(self.now + duration, functools.partial(self._heal, pairs))

    def _heal(self, pairs: list[frozenset[str]]) -> None:
        for pair in pairs:
            self.faults[pair] -= 1
            a, b = sorted(pair)
            if not self.connected(a, b) and self._recompute(a, b):
                self._resume(a, b)

    def set_power(self, name: str, power: Power) -> None:
        before = {peer: self.connected(name, peer) for peer in self.names if peer != name}
        self.power[name] = power
        for peer, was_up in before.items():
            self._recompute(name, peer)
            if power is Power.DEAD:
                self.channels[(name, peer)].queue.clear()
                self.channels[(peer, name)].queue.clear()
            if was_up and not self.connected(name, peer):
                self.link_lost(peer, name)
            elif not was_up and self.connected(name, peer):
                self._resume(name, peer)
