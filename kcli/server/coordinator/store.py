"""Where the coordinator keeps committed offsets and group metadata: ``__consumer_offsets``.

The coordinator only needs three operations (append records to one partition, read every record
back at start-up, know the partition count), so they form a small interface: the broker-backed
:class:`OffsetsTopicStore` for real use and :class:`MemoryStore` for unit tests of the state
machine. An append is written to the local log at once, in call order, and returns a future that
completes when the write is as safe as ``offsets.commit.required.acks`` asks (with the default -1:
on every in-sync replica, with at least ``min.insync.replicas`` of them) or fails with
:class:`AppendError` carrying the append's Kafka error; the coordinator answers only then, as
Kafka's coordinator appends through the same path as Produce with acks=all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from kio.schema.errors import ErrorCode

if TYPE_CHECKING:
    from kcli.server.state.broker import Broker

log = logging.getLogger("kafka.coordinator.group.GroupCoordinator")

OFFSETS_TOPIC = "__consumer_offsets"
# Kafka's own defaults for the offsets topic (offsets.topic.segment.bytes, compression producer).
OFFSETS_TOPIC_CONFIGS = {
    "cleanup.policy": "compact",
    "compression.type": "producer",
    "segment.bytes": "104857600",
}

Record = tuple[bytes, bytes | None]


class AppendError(Exception):
    """An append to ``__consumer_offsets`` that was not acknowledged: the append's Kafka error."""

    def __init__(self, code: ErrorCode, message: str | None = None):
        super().__init__(message or code.name)
        self.code = code


def _failed(code: ErrorCode, message: str | None = None) -> asyncio.Future[None]:
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    fut.set_exception(AppendError(code, message))
    return fut


def _done() -> asyncio.Future[None]:
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    fut.set_result(None)
    return fut


class Store(Protocol):
    def partition_count(self) -> int: ...

    async def ensure(self) -> bool: ...

    def append(self, partition: int, records: list[Record]) -> asyncio.Future[None]: ...

    def read_all(self, partitions: set[int] | None = None) -> Iterator[Record]: ...

    # Transactional offset commits (TxnOffsetCommit): written as the producer's transactional
    # batch; read_all yields them once their COMMIT marker is read and leaves those still waiting
    # for a marker in ``pending_transactions`` (producer id -> records).
    pending_transactions: dict[int, list[Record]]

    def append_transactional(
        self, partition: int, records: list[Record], producer_id: int, producer_epoch: int, guard: object
    ) -> asyncio.Future[None]: ...


class MemoryStore:
    """An in-memory stand-in with the same semantics (ordered, per partition)."""

    def __init__(self, partitions: int = 50):
        self.partitions = partitions
        self.logs: dict[int, list[Record]] = {}
        self.fail: ErrorCode | None = None  # appends fail with this error (tests)
        self.hold = False  # appends stay unacknowledged until release() (tests)
        self.pending: list[asyncio.Future[None]] = []
        self.pending_transactions: dict[int, list[Record]] = {}
        self.transactional: list[tuple[int, int, list[Record]]] = []

    def append_transactional(
        self, partition: int, records: list[Record], producer_id: int, producer_epoch: int, guard: object
    ) -> asyncio.Future[None]:
        if self.fail is not None:
            return _failed(self.fail)
        self.transactional.append((partition, producer_id, records))
        return _done()

    def partition_count(self) -> int:
        return self.partitions

    async def ensure(self) -> bool:
        return True

    def append(self, partition: int, records: list[Record]) -> asyncio.Future[None]:
        if self.fail is not None:
            return _failed(self.fail)
        self.logs.setdefault(partition, []).extend(records)
        if not self.hold:
            return _done()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append(fut)
        return fut

    def release(self, error: ErrorCode | None = None) -> None:
        """Acknowledge (or fail with ``error``) every append held so far."""
        pending, self.pending = self.pending, []
        for fut in pending:
            if not fut.done():
                if error is None:
                    fut.set_result(None)
                else:
                    fut.set_exception(AppendError(error))

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

    async def ensure(self) -> bool:
        """Create ``__consumer_offsets`` if it is missing; False when that is impossible."""
        if self.broker.topic(OFFSETS_TOPIC) is not None:
            return True
        from kcli.server.state.broker import TopicError

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
            await self.broker.create_topic(
                OFFSETS_TOPIC,
                num_partitions=max(1, config.offsets_topic_num_partitions),
                replication_factor=rf,
                configs=dict(OFFSETS_TOPIC_CONFIGS),
                internal=True,
            )
        except TopicError as exc:
            if self.broker.topic(OFFSETS_TOPIC) is None:
                if exc.error_code == ErrorCode.topic_already_exists:
                    return False  # another request is creating it: the client asks again
                log.error("Cannot create %s: %s", OFFSETS_TOPIC, exc.message)
                return False
        return True

    def append(self, partition: int, records: list[Record]) -> asyncio.Future[None]:
        """Append through the broker's one append path with ``offsets.commit.required.acks``;
        the future fails with the append's error (NOT_LEADER_OR_FOLLOWER when leadership moved
        since the request was checked, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT after
        ``offsets.commit.timeout.ms``, ...)."""
        from kcli.protocol.records import build_batch

        now = int(time.time() * 1000)
        return self._append_batch(partition, build_batch(records, timestamp=now), now)

    def append_transactional(
        self, partition: int, records: list[Record], producer_id: int, producer_epoch: int, guard: object
    ) -> asyncio.Future[None]:
        """TxnOffsetCommit's write: a transactional batch of the producer (sequence 0, as Kafka's
        coordinator writes it), acknowledged like any commit; the log checks the producer's
        epoch and (with ``guard``, KIP-890) that the partition is in its transaction."""
        from kcli.protocol.records import build_batch

        now = int(time.time() * 1000)
        batch = build_batch(
            records,
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            base_sequence=0,
            is_transactional=True,
            timestamp=now,
        )
        return self._append_batch(
            partition, batch, now, origin_coordinator=True, txn_guard=guard, verify_txn=guard is not None
        )

    def _append_batch(self, partition: int, batch: bytes, now: int, **options: Any) -> asyncio.Future[None]:
        if self.broker.topic(OFFSETS_TOPIC) is None:  # FindCoordinator creates it first
            return _failed(ErrorCode.unknown_topic_or_partition, f"{OFFSETS_TOPIC} is not available")
        config = self.broker.config
        manager = self.broker.replica_manager
        outcome, wait = manager.append_local(
            OFFSETS_TOPIC, partition, batch, config.offsets_commit_required_acks, now, **options
        )
        if outcome.error:
            return _failed(outcome.error, outcome.message)
        if wait is None:
            return _done()

        async def acknowledged() -> None:
            await manager.await_acks([(outcome, *wait)], config.offsets_commit_timeout_ms / 1000)
            if outcome.error:
                raise AppendError(outcome.error, outcome.message)

        return asyncio.ensure_future(acknowledged())

    def read_all(self, partitions: set[int] | None = None) -> Iterator[Record]:
        """Every record in the order its write took effect (transactional commits at their COMMIT
        marker); those still waiting for a marker go to ``pending_transactions``."""
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
        from kcli.protocol.records import decode_records, iter_batches

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
