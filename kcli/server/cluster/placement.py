"""Replica placement as Kafka's AdminUtils assigns it: round robin from a random start, and
with racks, over a rack-alternating broker list so that each partition's replicas land on as
many different racks as there are.

Without racks, the first replica of partition p goes to broker ``(p + start) % n`` of the sorted
broker ids; the followers follow at a shift that grows by one every ``n`` partitions, so leaders
and followers spread evenly and no two partitions share the same replica list more often than
necessary. The first replica is the preferred leader.

With racks (``assignReplicasToBrokersRackAware``), the brokers are first arranged so that racks
alternate (rack a's first broker, rack b's first, rack c's first, rack a's second...); the leader
is chosen round robin over that list, and each further replica is the next broker (at the same
growing shift) whose rack holds no replica of the partition yet - once every rack holds one, any
broker without a replica. ``kafka-reassign-partitions --generate`` uses the same functions.
"""

from __future__ import annotations

import random


def _follower_index(first: int, shift: int, j: int, n: int) -> int:
    return (first + 1 + (shift + j) % (n - 1)) % n


def check_assignment_args(brokers: int, partitions: int, replication_factor: int) -> None:
    """AdminUtils' checks, with its messages (ValueError)."""
    if partitions <= 0:
        raise ValueError("Number of partitions must be larger than 0.")
    if replication_factor <= 0:
        raise ValueError("Replication factor must be larger than 0.")
    if replication_factor > brokers:
        raise ValueError(
            f"Replication factor: {replication_factor} larger than available brokers: {brokers}."
        )


def assign_replicas(
    brokers: list[int],
    partitions: int,
    replication_factor: int,
    *,
    first_partition: int = 0,
    start_index: int | None = None,
    shift: int | None = None,
    rng: random.Random | None = None,
    racks: dict[int, str | None] | None = None,
) -> list[list[int]]:
    """Replica lists for ``partitions`` partitions numbered from ``first_partition``; rack-aware
    when ``racks`` (broker -> rack) is given."""
    check_assignment_args(len(brokers), partitions, replication_factor)
    rng = rng or random.Random()
    if racks is not None:
        missing = [b for b in brokers if racks.get(b) is None]
        if missing and len(missing) != len(brokers):
            raise ValueError("Not all brokers have rack information for replica rack aware assignment.")
        if not missing:
            return _rack_aware(
                {b: str(racks[b]) for b in brokers}, partitions, replication_factor,
                first_partition, start_index, shift, rng,
            )  # fmt: skip
    ids = sorted(brokers)
    n = len(ids)
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


def rack_alternated(racks: dict[int, str]) -> list[int]:
    """Brokers ordered so that racks alternate (racks sorted by name, brokers by id within a
    rack), as AdminUtils.getRackAlternatedBrokerList."""
    by_rack: dict[str, list[int]] = {}
    for broker, rack in sorted(racks.items()):
        by_rack.setdefault(rack, []).append(broker)
    names = sorted(by_rack)
    iters = {name: iter(by_rack[name]) for name in names}
    result: list[int] = []
    i = 0
    while len(result) < len(racks):
        nxt = next(iters[names[i]], None)
        if nxt is not None:
            result.append(nxt)
        i = (i + 1) % len(names)
    return result


def _rack_aware(
    racks: dict[int, str],
    partitions: int,
    rf: int,
    first_partition: int,
    start_index: int | None,
    shift: int | None,
    rng: random.Random,
) -> list[list[int]]:
    arranged = rack_alternated(racks)
    n = len(arranged)
    num_racks = len(set(racks.values()))
    start = rng.randrange(n) if start_index is None else start_index
    next_shift = rng.randrange(n) if shift is None else shift
    result = []
    for p in range(max(0, first_partition), max(0, first_partition) + partitions):
        if p > 0 and p % n == 0:
            next_shift += 1
        first = (p + start) % n
        leader = arranged[first]
        replicas = [leader]
        with_racks, with_brokers = {racks[leader]}, {leader}
        k = 0
        for _ in range(rf - 1):
            while True:
                broker = arranged[_follower_index(first, next_shift * num_racks, k, n)] if n > 1 else leader
                k += 1
                rack = racks[broker]
                if (rack not in with_racks or len(with_racks) == num_racks) and (
                    broker not in with_brokers or len(with_brokers) == n
                ):
                    replicas.append(broker)
                    with_racks.add(rack)
                    with_brokers.add(broker)
                    break
        result.append(replicas)
    return result
