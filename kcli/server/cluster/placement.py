"""Replica placement as Kafka assigns it without racks: round robin from a random start.

The first replica of partition p goes to broker ``(p + start) % n``; the followers follow at a
shift that grows by one every ``n`` partitions, so leaders and followers spread evenly and no two
partitions share the same replica list more often than necessary. The first replica is the
preferred leader.
"""

from __future__ import annotations

import random


def _follower_index(first: int, shift: int, j: int, n: int) -> int:
    return (first + 1 + (shift + j) % (n - 1)) % n


def assign_replicas(
    brokers: list[int],
    partitions: int,
    replication_factor: int,
    *,
    first_partition: int = 0,
    start_index: int | None = None,
    shift: int | None = None,
    rng: random.Random | None = None,
) -> list[list[int]]:
    """Replica lists for ``partitions`` partitions numbered from ``first_partition``."""
    if replication_factor > len(brokers):
        raise ValueError(
            f"Replication factor: {replication_factor} larger than available brokers: {len(brokers)}."
        )
    ids = sorted(brokers)
    n = len(ids)
    rng = rng or random.Random()
    start = rng.randrange(n) if start_index is None else start_index
    next_shift = rng.randrange(n) if shift is None else shift
    result = []
    for p in range(first_partition, first_partition + partitions):
        if p > 0 and p % n == 0:
            next_shift += 1
        first = (p + start) % n
        replicas = [ids[first]]
        replicas += [ids[_follower_index(first, next_shift, j, n)] for j in range(replication_factor - 1)]
        result.append(replicas)
    return result
