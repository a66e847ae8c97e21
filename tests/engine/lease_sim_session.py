"""The session file in the lease simulation (issue 20): turns, release stamps, forks and repair.

Each machine's own turns travel as one more single-writer file, ``S:<device>`` (the set of turns
it wrote), through the same replicas and links as the claims. A machine's copy of the session is
the union of every ``S:`` file it has: that is the merge, which keeps every record of every
copy and makes them one chain (its laws are property-tested in tests/merge/test_laws.py; the
simulation takes them as given and checks what the lease rule adds: that every turn reaches
every machine once the cluster heals, whatever forks the provisional grants made).

A release stamps the holder's copy (size: number of turns, sha256: of the sorted turns) after
publishing its turns, as the real release scans the session file before the claim.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Final

from session_roam.engine.lease.model import ReleaseStamp
from tests.engine.lease_sim_net import Message, Power

if TYPE_CHECKING:
    from tests.engine.lease_sim_config import Replica
    from tests.engine.lease_sim_replicas import Replicas

__all__ = ["SESSION_FILE", "copy_of", "is_session_file", "lost_turns", "stamp_of", "write_turn"]

#: The prefix of a machine's turns file among the replicated files.
SESSION_FILE: Final = "S:"


def is_session_file(writer: str) -> bool:
    return writer.startswith(SESSION_FILE)


def copy_of(node: Replica) -> frozenset[str]:
    """This machine's session as the merge leaves it: every turn of every copy it has."""
    turns: set[str] = set()
    for writer, (_, raw) in node.files.items():
        if is_session_file(writer) and raw:
            turns.update(raw.decode().split("\n"))
    return frozenset(turns)


def stamp_of(turns: frozenset[str], ticket: int = 0) -> ReleaseStamp | None:
    """The release stamp of a copy; None for an empty session (no file)."""
    if not turns:
        return None
    digest = hashlib.sha256("\n".join(sorted(turns)).encode()).hexdigest()
    return ReleaseStamp(len(turns), digest, ticket)


def write_turn(world: Replicas, node: Replica) -> None:
    """``node`` (holding) appends a turn and Syncthing sends its turns on."""
    node.written += 1
    mine = [f"{node.device}#{n}" for n in range(1, node.written + 1)]
    node.seq += 1
    world.store(node, Message(SESSION_FILE + node.device, node.seq, "\n".join(mine).encode()))


def lost_turns(world: Replicas) -> int:
    """Turns some machine that is on lacks, once every link healed and the rest arrived.

    Turns that never left a machine dead for good are not counted: nothing can bring them.
    """
    alive = [n for n in world.nodes.values() if world.power[n.device] is not Power.DEAD]
    # The ground truth, not the copies: every turn a living machine wrote, and every turn of a
    # dead one that reached a living replica's disk.
    everything = {f"{n.device}#{i}" for n in alive for i in range(1, n.written + 1)}
    for node in alive:
        for writer, (_, raw) in node.files.items():
            if is_session_file(writer) and raw:
                everything.update(raw.decode().split("\n"))
    return sum(
        len(everything - copy_of(node))
        for node in alive
        if not node.vault and world.power[node.device] is Power.UP
    )
