"""The lecture's explanations that ``--explain`` and the TUI's Explain pane share.

Where a keyed record goes (Kafka's own partitioner, recomputed) and what a consumer group's state
means, in the lecture's words. The tools (:mod:`kcli.tools.explain`) and the TUI
(:mod:`kcli.tui.screens.explain`) both say them, so they live below both.
"""

from __future__ import annotations


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2`` (the Java producer's key hash), as a signed 32-bit int."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(length // 4):
        k = int.from_bytes(data[i * 4 : i * 4 + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail = length & ~3
    rest = length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def key_partition(key: bytes, partitions: int) -> int:
    """``Utils.toPositive(Utils.murmur2(key)) % numPartitions``: where Java puts a keyed record."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def show_key(key: bytes | None, width: int = 40) -> str:
    if key is None:
        return "null"
    text = key.decode("utf-8", errors="replace")
    text = text if len(text) <= width else text[: width - 1] + "…"
    return repr(text)


def key_reason(key: bytes | None, partition: int, partitions: int | None, partitioner: str) -> str:
    """Why a record is in ``partition``, as the partitioner decided it."""
    if key is None:
        return (
            f"no key: the sticky partitioner chose partition {partition} "
            "(records without a key fill one partition's batch, then the next batch goes elsewhere)"
        )
    if not partitions:
        return f"key {show_key(key)} → partition {partition}"
    if partitioner.startswith("murmur2"):
        h = murmur2(key)
        expected = (h & 0x7FFFFFFF) % partitions
        text = (
            f"key {show_key(key)} → murmur2 = {h} → toPositive = {h & 0x7FFFFFFF} → "
            f"mod {partitions} partitions = {expected}"
        )
        if expected != partition:
            text += f", yet it is in partition {partition} (an explicit partition, or the count changed)"
        return text
    return f"key {show_key(key)} → partition {partition} ({partitioner} partitioner)"


STATES = {
    "Stable": "every member has its partitions and is consuming",
    "Empty": "no member is running; the committed offsets are kept (for offsets.retention.minutes)",
    "PreparingRebalance": "a member joined or left: the coordinator waits for every member to rejoin",
    "CompletingRebalance": "members rejoined: waiting for the leader's assignment (SyncGroup)",
    "Dead": "the group does not exist (or its metadata was removed)",
}
