"""The iteration order of a Java ``HashMap``/``HashSet``, for output Kafka's tools print from one.

Kafka's Java tools print some sets and JSON objects straight from a ``HashMap`` (LogDirsCommand
builds its JSON from ``HashMap``s; ReassignPartitionsCommand lists topics from a ``HashSet``), so
their order is not insertion order but bucket order: ``(h ^ h >>> 16) & (capacity - 1)`` with
the capacity doubling from 16 past a 0.75 load, and insertion order within a bucket. Reproducing
it keeps kcli's output byte-identical to Kafka's where users or scripts compare it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def java_hash(value: str | int) -> int:
    """``String.hashCode()`` (over UTF-16 code units) or ``Integer.hashCode()``, as a signed int."""
    if isinstance(value, int):
        h = value & 0xFFFFFFFF
    else:
        h = 0
        data = value.encode("utf-16-be")
        for i in range(0, len(data), 2):
            h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h


def topic_partition_hash(topic: str, partition: int) -> int:
    """``TopicPartition.hashCode()``."""
    return (31 * (31 + partition) + java_hash(topic)) & 0xFFFFFFFF


def hashmap_order(keys: Iterable[T], hash_of: Callable[[T], int] | None = None) -> list[T]:
    """``keys`` (distinct, in insertion order) in the order a default ``HashMap`` iterates them;
    ``hash_of`` gives a key's Java ``hashCode()`` (default: a String's or an Integer's)."""
    items = list(dict.fromkeys(keys))
    capacity = 16
    while len(items) > capacity * 3 // 4:
        capacity *= 2
    hashing = hash_of or java_hash  # type: ignore[assignment]
    spread = {k: (h ^ (h >> 16)) for k in items for h in (hashing(k) & 0xFFFFFFFF,)}
    buckets: dict[int, list[T]] = {}
    for k in items:
        buckets.setdefault(spread[k] & (capacity - 1), []).append(k)
    return [k for b in sorted(buckets) for k in buckets[b]]
