"""The faults one simulated schedule suffers, drawn from its seeded generator.

Short pauses of one link (a Syncthing reconnect), long partitions (a machine cut off from some or
all of the others for seconds, or the cluster split in two groups), machines that go off and come
back (a laptop lid), and crashes for good. The always-on vaults go off only with their own,
usually small, probabilities.
"""

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random

    from tests.engine.lease_sim import World
    from tests.engine.lease_sim_config import SimConfig

__all__ = ["schedule_faults"]


def schedule_faults(world: World, config: SimConfig) -> None:
    """Put this schedule's faults on the world's event queue."""
    rng = world.rng
    horizon = config.horizon_s
    for a, b in itertools.combinations(world.names, 2):
        if rng.random() < config.pause_p:
            duration = rng.uniform(0.05, config.max_pause_s)
            world.at(
                rng.uniform(0, horizon),
                functools.partial(world.fault, [frozenset((a, b))], duration),
            )
    if rng.random() < config.partition_p:
        world.result.partitions += 1
        duration = rng.uniform(config.min_partition_s, config.max_partition_s)
        world.at(
            rng.uniform(0, horizon * 0.8),
            functools.partial(world.fault, _partition(rng, world.names), duration),
        )
    if rng.random() < config.crash_p:
        victim = world.nodes[rng.choice(world.trusted)]
        world.at(rng.uniform(0, horizon), functools.partial(world.crash, victim))
    for name in world.trusted:
        if rng.random() < config.off_p:
            _off_and_on(world, name, rng, horizon, config.max_off_s)
    for name in world.vaults:
        if rng.random() < config.vault_crash_p:
            world.at(rng.uniform(0, horizon), functools.partial(world.crash, world.nodes[name]))
        elif rng.random() < config.vault_off_p:
            _off_and_on(world, name, rng, horizon, config.max_off_s)


def _off_and_on(world: World, name: str, rng: random.Random, horizon: float, most: float) -> None:
    node = world.nodes[name]
    world.at(
        rng.uniform(0, horizon * 0.8),
        functools.partial(world.power_off, node, rng.uniform(0.3, most)),
    )


def _partition(rng: random.Random, names: list[str]) -> list[frozenset[str]]:
    """The links a long partition cuts: one machine from some or all others, or two groups."""
    if rng.random() < 0.5:
        lonely = rng.choice(names)
        others = [n for n in names if n != lonely]
        if rng.random() < 0.5:
            others = rng.sample(others, rng.randint(1, len(others)))
        return [frozenset((lonely, other)) for other in others]
    shuffled = rng.sample(names, len(names))
    cut = rng.randint(1, len(names) - 1)
    left, right = shuffled[:cut], shuffled[cut:]
    return [frozenset((a, b)) for a in left for b in right]
