"""Where the coordinator keeps committed offsets and group metadata: ``__consumer_offsets``.

The coordinator only needs three operations (append records to one partition, read every record
back at start-up, know the partition count), so they form a small interface: the broker-backed
:class:`OffsetsTopicStore` for real use and :class:`MemoryStore` for unit tests of the state
machine. Appends are synchronous file writes, so a commit is acknowledged only after its record
is in the segment file and survives ``kill -9``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kcli.server.broker import Broker

log = logging.getLogger("kafka.coordinator.group.GroupCoordinator")

OFFSETS_TOPIC = "__consumer_offsets"
# Kafka's own defaults for the offsets topic (offsets.topic.segment.bytes, compression producer).
OFFSETS_TOPIC_CONFIGS = {
    "cleanup.policy": "compact",
    "compression.type": "producer",
    "segment.bytes": "104857600",
}

Record = tuple[bytes, bytes | None]


class Store(Protocol):
    def partition_count(self) -> int: ...

    def ensure(self) -> bool: ...

    def append(self, partition: int, records: list[Record]) -> None: ...

    def read_all(self, partitions: set[int] | None = None) -> Iterator[Record]: ...

    # Transactional offset commits (TxnOffsetCommit): written as the producer's transactional
    # batch; read_all yields them once their COMMIT marker is read and leaves those still waiting
    # for a marker in ``pending_transactions`` (producer id -> records).
    pending_transactions: dict[int, list[Record]]

    def append_transactional(
        self, partition: int, records: list[Record], producer_id: int, producer_epoch: int, guard: object
    ) -> None: ...


class MemoryStore:
    """An in-memory stand-in with the same semantics (ordered, per partition)."""

    def __init__(self, partitions: int = 50):
        self.partitions = partitions
        self.logs: dict[int, list[Record]] = {}
        self.fail = False
        self.pending_transactions: dict[int, list[Record]] = {}
        self.transactional: list[tuple[int, int, list[Record]]] = []

    def append_transactional(
        self, partition: int, records: list[Record], producer_id: int, producer_epoch: int, guard: object
    ) -> None:
        if self.fail:
            raise OSError("append failed (test)")
        self.transactional.append((partition, producer_id, records))

    def partition_count(self) -> int:
        return self.partitions

    def ensure(self) -> bool:
        return True

    def append(self, partition: int, records: list[Record]) -> None:
        if self.fail:
            raise OSError("append failed (test)")
        self.logs.setdefault(partition, []).extend(records)

    def read_all(self, partitions: set[int] | None = None) -> Iterator[Record]:
        for partition in sorted(self.logs):
            if partitions is None or partition in partitions:
                yield from self.logs[partition]


class OffsetsTopicStore:
    """The internal topic on this broker, created on first use as Kafka creates it."""

    def __init__(self, broker: Broker):
        self.broker = broker
        self.pending_transactions: dict[int, list[Record]] = {}

    def partition_count(self) -> int:
        record = self.broker.topic(OFFSETS_TOPIC)
        if record is not None:
            return record.partitions
        return max(1, self.broker.config.offsets_topic_num_partitions)

    def ensure(self) -> bool:
        """Create ``__consumer_offsets`` if it is missing; False when that is impossible."""
        if self.broker.topic(OFFSETS_TOPIC) is not None:
            return True
        from kcli.server.broker import TopicError

        config = self.broker.config
        live = len(self.broker.live_brokers())
        wanted = config.offsets_topic_replication_factor
        rf = max(1, min(wanted, live))
        if rf < wanted:
            log.warning(
                "Creating %s with replication factor %d instead of offsets.topic.replication.factor=%d "
                "because only %d broker(s) are alive",
                OFFSETS_TOPIC,
                rf,
                wanted,
                live,
            )
        try:
            self.broker.create_topic(
                OFFSETS_TOPIC,
                num_partitions=max(1, config.offsets_topic_num_partitions),
                replication_factor=rf,
                configs=dict(OFFSETS_TOPIC_CONFIGS),
                internal=True,
            )
        except TopicError as exc:
            if self.broker.topic(OFFSETS_TOPIC) is None:
                log.error("Cannot create %s: %s", OFFSETS_TOPIC, exc.message)
                return False
        return True

    def append(self, partition: int, records: list[Record]) -> None:
        from kcli.server.protocol.records import build_batch

        if not self.ensure():
            raise OSError(f"{OFFSETS_TOPIC} is not available")
        target, _error = self.broker.leader_partition(OFFSETS_TOPIC, partition)
        if target is None:  # in a cluster: leadership moved away since the request was checked
            raise OSError(f"{OFFSETS_TOPIC}-{partition} is not led by this broker")
        now = int(time.time() * 1000)
        target.append(build_batch(records, timestamp=now), now_ms=now)

    def append_transactional(
        self, partition: int, records: list[Record], producer_id: int, producer_epoch: int, guard: object
    ) -> None:
        """A transactional batch of the producer (sequence 0, as Kafka's coordinator writes it);
        the log checks its epoch and that the partition is in the producer's transaction."""
        from kcli.server.protocol.records import build_batch

        target, _error = self.broker.leader_partition(OFFSETS_TOPIC, partition)
        if target is None:
            raise OSError(f"{OFFSETS_TOPIC}-{partition} is not led by this broker")
        now = int(time.time() * 1000)
        batch = build_batch(
            records,
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            base_sequence=0,
            is_transactional=True,
            timestamp=now,
        )
        target.append(
            batch, now_ms=now, origin_coordinator=True, txn_guard=guard, verify_txn=guard is not None
        )

    def read_all(self, partitions: set[int] | None = None) -> Iterator[Record]:
        from kcli.server.coordinator.transactional_offsets import replay

        record = self.broker.topic(OFFSETS_TOPIC)
        if record is None:
            return
        for index in range(record.partitions):
            partition = self.broker.partition(OFFSETS_TOPIC, index)
            if partition is None or (partitions is not None and index not in partitions):
                continue
            effective, pending = replay(self._records(index))
            for producer_id, waiting in pending.items():
                self.pending_transactions.setdefault(producer_id, []).extend(waiting)
            yield from effective

    def _records(self, index: int) -> Iterator[Any]:
        """Every record of partition ``index`` (markers included), oldest first."""
        from kcli.server.protocol.records import decode_records, iter_batches

        partition = self.broker.partition(OFFSETS_TOPIC, index)
        if partition is None:
            return
        plog = partition.log
        offset, end = plog.log_start_offset, plog.log_end_offset
        while offset < end:
            try:
                data = plog.read(offset, 1 << 20, upper_bound=end, min_one_batch=True)
                # Advance by batch, not by record: compaction may leave batches with gaps.
                following = max((h.next_offset for _, h in iter_batches(data)), default=offset)
                records = decode_records(data)
            except Exception as exc:  # a damaged batch must not keep the broker from starting
                log.error(
                    "Cannot read %s-%d at offset %d: %s; skipping the rest of it",
                    OFFSETS_TOPIC,
                    index,
                    offset,
                    exc,
                )
                break
            for rec in records:
                if rec.offset >= offset:
                    yield rec
            if following <= offset:
                break
            offset = following
