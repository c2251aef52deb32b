"""The transaction state of the ``__transaction_state`` partitions this broker leads (Kafka's
TransactionStateManager): the metadata cache, its load, its writes, and what expires.

A transactional id lives in partition ``abs(hashCode) % transaction.state.log.num.partitions``;
the broker leading that partition is its coordinator, and the partition's leader epoch is the
coordinator epoch that markers carry (so a deposed coordinator's markers are fenced). The cache of
a partition is filled when this broker becomes its leader, by replaying the partition (last record
per transactional id wins, a tombstone removes it), and dropped when leadership moves away.

Every state change is appended to the partition with acks=all before it is applied to the cache
(:meth:`TransactionStateManager.append`), so an acknowledged transition survives ``kill -9`` of
the coordinator and the failover of its partition.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kcli.protocol.records import build_batch, decode_records, iter_batches
from kcli.server.coordinator.schema import partition_for
from kcli.server.transaction import errors as E
from kcli.server.transaction.config import TRANSACTION_STATE_TOPIC, TransactionConfig
from kcli.server.transaction.log_format import (
    LogFormatError,
    TransactionLogValue,
    decode_key,
    decode_value,
    encode_key,
    encode_value,
)
from kcli.server.transaction.state import TransactionMetadata, TransactionState, TxnTransit

if TYPE_CHECKING:
    from kcli.server.base.partition import Partition
    from kcli.server.state.broker import Broker

log = logging.getLogger("kafka.coordinator.transaction.TransactionStateManager")

S = TransactionState


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class PartitionCache:
    """The transactional ids of one ``__transaction_state`` partition, at one coordinator epoch."""

    coordinator_epoch: int
    txns: dict[str, TransactionMetadata] = field(default_factory=dict)


@dataclass(frozen=True)
class Lookup:
    """What :meth:`TransactionStateManager.get` found: an error, or the cache entry (and the
    metadata, None when the id is unknown)."""

    error: int
    coordinator_epoch: int = -1
    metadata: TransactionMetadata | None = None


class TransactionStateManager:
    def __init__(self, broker: Broker, config: TransactionConfig):
        self.broker = broker
        self.config = config
        self.cache: dict[int, PartitionCache] = {}

    # --- the topic --------------------------------------------------------------------------------
    def partition_count(self) -> int:
        record = self.broker.topic(TRANSACTION_STATE_TOPIC)
        return record.partitions if record is not None else self.config.num_partitions

    def partition_for(self, transactional_id: str) -> int:
        return partition_for(transactional_id, self.partition_count())

    async def ensure_topic(self) -> bool:
        """Create ``__transaction_state`` on first use, as Kafka does; False when impossible.

        With fewer live brokers than transaction.state.log.replication.factor the topic is created
        with as many replicas as there are brokers (and min.insync.replicas no higher), with a
        warning, as kcli does for ``__consumer_offsets``: a one-broker lab gets transactions
        without editing server.properties (Kafka itself would refuse until the setting is lowered).
        """
        if self.broker.topic(TRANSACTION_STATE_TOPIC) is not None:
            return True
        from kcli.server.state.broker import TopicError

        live = len(self.broker.live_brokers())
        wanted = self.config.replication_factor
        rf = max(1, min(wanted, live))
        configs = self.config.topic_configs()
        if rf < wanted:
            log.warning(
                "Creating %s with replication factor %d instead of transaction.state.log.replication.factor=%d "
                "because only %d broker(s) are alive",
                TRANSACTION_STATE_TOPIC,
                rf,
                wanted,
                live,
            )
        configs["min.insync.replicas"] = str(min(self.config.min_isr, rf))
        try:
            await self.broker.create_topic(
                TRANSACTION_STATE_TOPIC,
                num_partitions=self.config.num_partitions,
                replication_factor=rf,
                configs=configs,
                internal=True,
            )
        except TopicError as exc:
            if self.broker.topic(TRANSACTION_STATE_TOPIC) is None:
                log.error("Cannot create %s: %s", TRANSACTION_STATE_TOPIC, exc.message)
                return False
        return True

    def leader_partition(self, index: int) -> Partition | None:
        partition, _ = self.broker.leader_partition(TRANSACTION_STATE_TOPIC, index)
        return partition

    # --- the cache --------------------------------------------------------------------------------
    def get(self, transactional_id: str) -> Lookup:
        entry = self.cache.get(self.partition_for(transactional_id))
        if entry is None:
            return Lookup(E.NOT_COORDINATOR)
        return Lookup(E.NONE, entry.coordinator_epoch, entry.txns.get(transactional_id))

    def put_if_absent(self, metadata: TransactionMetadata) -> Lookup:
        entry = self.cache.get(self.partition_for(metadata.transactional_id))
        if entry is None:
            return Lookup(E.NOT_COORDINATOR)
        current = entry.txns.setdefault(metadata.transactional_id, metadata)
        return Lookup(E.NONE, entry.coordinator_epoch, current)

    def all_metadata(self) -> Iterator[TransactionMetadata]:
        for entry in list(self.cache.values()):
            yield from list(entry.txns.values())

    def validate_timeout(self, timeout_ms: int) -> bool:
        return 0 < timeout_ms <= self.config.max_timeout_ms

    # --- loading and unloading --------------------------------------------------------------------
    def load(self, index: int) -> PartitionCache | None:
        """Replay partition ``index`` (this broker leads it) into the cache; returns the entry."""
        partition = self.leader_partition(index)
        if partition is None:
            return None
        started = time.monotonic()
        txns: dict[str, TransactionMetadata] = {}
        count = 0
        for key, value in _read_records(partition):
            try:
                transactional_id = decode_key(key)
                if value is None:
                    txns.pop(transactional_id, None)
                else:
                    txns[transactional_id] = _metadata(transactional_id, decode_value(value))
                count += 1
            except (LogFormatError, UnicodeDecodeError) as exc:
                log.warning("Skipping an unreadable record of %s-%d: %s", TRANSACTION_STATE_TOPIC, index, exc)
        entry = PartitionCache(partition.leader_epoch, txns)
        self.cache[index] = entry
        log.log(
            logging.INFO if count else logging.DEBUG,
            "Finished loading %d transaction metadata from %s-%d (%d records) at epoch %d in %d milliseconds",
            len(txns),
            TRANSACTION_STATE_TOPIC,
            index,
            count,
            partition.leader_epoch,
            int((time.monotonic() - started) * 1000),
        )
        return entry

    def unload(self, index: int) -> None:
        if self.cache.pop(index, None) is not None:
            log.info("Unloaded transaction metadata for %s-%d", TRANSACTION_STATE_TOPIC, index)

    # --- writing transitions ----------------------------------------------------------------------
    async def append(
        self,
        transactional_id: str,
        coordinator_epoch: int,
        transit: TxnTransit,
        retry_on_error: Callable[[int], bool] = lambda _code: False,
    ) -> int:
        """Write ``transit`` to the log (acks=all), then apply it to the cached metadata.

        Returns the error code the client gets. On failure the pending transition is cleared
        (unless ``retry_on_error`` says the caller retries), so the id is usable again.
        """
        found = self.get(transactional_id)
        if found.error:
            return found.error
        if found.metadata is None or found.coordinator_epoch != coordinator_epoch:
            return E.NOT_COORDINATOR
        value = None if transit.state is S.DEAD else encode_value(TransactionLogValue.from_transit(transit))
        error = await self._write(
            self.partition_for(transactional_id), [(encode_key(transactional_id), value)]
        )
        found = self.get(transactional_id)
        metadata = found.metadata
        if error == E.NONE:
            if found.error:
                return found.error
            if metadata is None or found.coordinator_epoch != coordinator_epoch:
                return E.NOT_COORDINATOR
            if transit.state is S.DEAD:
                entry = self.cache.get(self.partition_for(transactional_id))
                if entry is not None and entry.txns.get(transactional_id) is metadata:
                    del entry.txns[transactional_id]
            else:
                metadata.complete_transition(transit)
            return E.NONE
        if (
            metadata is not None
            and found.coordinator_epoch == coordinator_epoch
            and not retry_on_error(error)
        ):
            metadata.pending_state = None
        log.info(
            "Appending the transition of %s to %s failed with %s",
            transactional_id,
            transit.state.label,
            E.name(error),
        )
        return error

    async def _write(self, index: int, records: list[tuple[bytes, bytes | None]]) -> int:
        """Append to ``__transaction_state``-``index`` through the broker's one append path with
        acks=all, mapping the log's errors to the coordinator's as Kafka's appendTransactionToLog
        does."""
        manager = self.broker.replica_manager
        now = now_ms()
        outcome, wait = manager.append_local(
            TRANSACTION_STATE_TOPIC, index, build_batch(records, timestamp=now), -1, now
        )
        if wait is not None:
            await manager.await_acks([(outcome, *wait)], self.config.request_timeout_ms / 1000)
        code = int(outcome.error)
        if code:
            log.info(
                "Appending to %s-%d failed: %s",
                TRANSACTION_STATE_TOPIC,
                index,
                outcome.message or E.name(code),
            )
        if code in (
            E.UNKNOWN_TOPIC_OR_PARTITION,
            E.NOT_ENOUGH_REPLICAS,
            E.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            E.REQUEST_TIMED_OUT,
        ):
            return E.COORDINATOR_NOT_AVAILABLE
        if code in (E.NOT_LEADER_OR_FOLLOWER, E.KAFKA_STORAGE_ERROR):
            return E.NOT_COORDINATOR
        if code in (E.MESSAGE_TOO_LARGE, E.RECORD_LIST_TOO_LARGE):
            return E.UNKNOWN_SERVER_ERROR
        return code

    # --- housekeeping -----------------------------------------------------------------------------
    def timed_out(self, now: int) -> list[tuple[str, int, int]]:
        """(transactional id, producer id, epoch) of Ongoing transactions past their timeout."""
        return [
            (m.transactional_id, m.producer_id, m.producer_epoch)
            for m in self.all_metadata()
            if not m.pending and m.state is S.ONGOING and m.txn_start_ms + m.txn_timeout_ms < now
        ]

    async def remove_expired(self, now: int) -> int:
        """Tombstone transactional ids idle for transactional.id.expiration.ms; returns how many."""
        horizon = now - self.config.transactional_id_expiration_ms
        removed = 0
        for index, entry in list(self.cache.items()):
            doomed = [
                m
                for m in entry.txns.values()
                if not m.pending and m.state.expiration_allowed and m.txn_last_update_ms <= horizon
            ]
            if not doomed:
                continue
            epoch = entry.coordinator_epoch
            transits = [(m, m.prepare_dead()) for m in doomed]
            error = await self._write(index, [(encode_key(m.transactional_id), None) for m in doomed])
            current = self.cache.get(index)
            for m, _transit in transits:
                if (
                    error == E.NONE
                    and current is not None
                    and current.coordinator_epoch == epoch
                    and current.txns.get(m.transactional_id) is m
                    and m.pending_state is S.DEAD
                ):
                    del current.txns[m.transactional_id]
                    removed += 1
                    continue
                m.pending_state = None
            if error == E.NONE:
                log.info(
                    "Removed %d expired transactional id(s) from %s-%d",
                    len(doomed),
                    TRANSACTION_STATE_TOPIC,
                    index,
                )
        return removed

    def list(
        self, producer_ids: set[int], states: set[str], min_duration_ms: int, now: int
    ) -> tuple[list[dict], list[str]]:
        """ListTransactions: (matching transactions, unknown state filters)."""
        wanted = {s: TransactionState.from_label(s) for s in states}
        unknown = [s for s, state in wanted.items() if state is None]
        known = {state for state in wanted.values() if state is not None}
        out = []
        for m in self.all_metadata():
            if m.state is S.DEAD:
                continue
            if producer_ids and m.producer_id not in producer_ids:
                continue
            if states and m.state not in known:
                continue
            if min_duration_ms >= 0 and now - m.txn_start_ms <= min_duration_ms:
                continue
            out.append(
                {
                    "transactional_id": m.transactional_id,
                    "producer_id": m.producer_id,
                    "transaction_state": m.state.label,
                }
            )
        return out, unknown


def _metadata(transactional_id: str, v: TransactionLogValue) -> TransactionMetadata:
    return TransactionMetadata(
        transactional_id=transactional_id,
        producer_id=v.producer_id,
        producer_epoch=v.producer_epoch,
        txn_timeout_ms=v.timeout_ms,
        state=v.state,
        previous_producer_id=v.previous_producer_id,
        next_producer_id=v.next_producer_id,
        partitions=set(v.partitions),
        txn_start_ms=v.start_ms,
        txn_last_update_ms=v.last_update_ms,
        client_transaction_version=v.client_transaction_version,
    )


def _read_records(partition: Partition) -> Iterator[tuple[bytes, bytes | None]]:
    """Every keyed record of a partition's log, oldest first, up to its log end offset."""
    plog = partition.log
    offset, end = plog.log_start_offset, plog.log_end_offset
    while offset < end:
        try:
            data = plog.read(offset, 1 << 20, upper_bound=end, min_one_batch=True)
            following = max((h.next_offset for _, h in iter_batches(data)), default=offset)
            records = decode_records(data)
        except Exception as exc:  # a damaged batch must not keep the coordinator from loading
            log.error("Cannot read %s at offset %d: %s; skipping the rest", plog.directory.name, offset, exc)
            return
        for rec in records:
            if rec.offset >= offset and rec.key is not None and not rec.is_control:
                yield rec.key, rec.value
        if following <= offset:
            return
        offset = following
