"""The transaction coordinator (Kafka's TransactionCoordinator): the requests a transactional
producer sends, on top of the state machine (:mod:`state`), the log (:mod:`state_manager`) and the
marker sender (:mod:`markers`).

Everything runs on the broker's event loop. A request that changes a transaction prepares the
transition, awaits its write to ``__transaction_state``, then completes it; a request arriving
meanwhile sees the pending transition and gets CONCURRENT_TRANSACTIONS, which clients retry.
Two timers run Kafka's housekeeping: transactions open longer than their timeout are aborted
(with the producer's epoch bumped, so the abandoned producer is fenced and the last stable offset
of its partitions moves on), and transactional ids idle for ``transactional.id.expiration.ms``
are removed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kcli.server.transaction import errors as E
from kcli.server.transaction.config import TRANSACTION_STATE_TOPIC, TransactionConfig
from kcli.server.transaction.marker_writer import write_markers
from kcli.server.transaction.markers import Marker, TransactionMarkerSender
from kcli.server.transaction.state import (
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    IllegalTransitionError,
    TopicPartition,
    TransactionMetadata,
    TransactionState,
    TxnTransit,
    epoch_exhausted,
)
from kcli.server.transaction.state_manager import TransactionStateManager, now_ms

if TYPE_CHECKING:
    from kcli.server.base.broker_view import BrokerNode
    from kcli.server.state.broker import Broker

log = logging.getLogger("kafka.coordinator.transaction.TransactionCoordinator")

S = TransactionState


@dataclass(frozen=True)
class InitResult:
    error: int
    producer_id: int = NO_PRODUCER_ID
    producer_epoch: int = NO_PRODUCER_EPOCH


class TransactionCoordinator:
    def __init__(self, broker: Broker, config: TransactionConfig | None = None):
        self.broker = broker
        self.config = config or TransactionConfig.from_raw(broker.config.raw)
        self.state = TransactionStateManager(broker, self.config)
        self.markers = TransactionMarkerSender(broker, self.state, self._write_local_markers)
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._started = False

    # --- lifecycle --------------------------------------------------------------------------------
    @property
    def clustered(self) -> bool:
        return self.broker.cluster is not None

    def start(self) -> None:
        """Load what this broker coordinates and start the timers (needs the running loop)."""
        if self._started or self._closed:
            return
        self._started = True
        if not self.clustered and self.broker.topic(TRANSACTION_STATE_TOPIC) is not None:
            self._load_all()
        self._every(self.config.abort_timed_out_interval_ms, self.abort_timed_out)
        self._every(self.config.remove_expired_interval_ms, self._remove_expired)

    async def close(self) -> None:
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await self.markers.close()

    def _every(self, interval_ms: int, action: Callable[[], Any]) -> None:
        loop = asyncio.get_running_loop()

        def tick() -> None:
            if self._closed:
                return
            try:
                result = action()
                if asyncio.iscoroutine(result):
                    self._spawn(result)
            except Exception:
                log.exception("Transaction coordinator housekeeping failed")
            self._timers.append(loop.call_later(interval_ms / 1000, tick))

        self._timers.append(loop.call_later(interval_ms / 1000, tick))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _load_all(self) -> None:
        for index in range(self.state.partition_count()):
            self._load(index)

    def _load(self, index: int) -> None:
        self.markers.remove_for_partition(index)
        entry = self.state.load(index)
        if entry is None:
            return
        now = now_ms()
        for metadata in list(entry.txns.values()):
            if metadata.state in (S.PREPARE_COMMIT, S.PREPARE_ABORT):
                log.info(
                    "Sending the markers of %s (%s) after loading",
                    metadata.transactional_id,
                    metadata.state.label,
                )
                transit = metadata.prepare_complete(now)
                self.markers.add(
                    entry.coordinator_epoch, metadata.state is S.PREPARE_COMMIT, metadata, transit
                )

    def on_leadership(self, topic: str, partition: int, is_leader: bool) -> None:
        """A ``__transaction_state`` partition came to or left this broker (cluster mode)."""
        if topic != TRANSACTION_STATE_TOPIC or self._closed:
            return
        self.markers.remove_for_partition(partition)
        self.state.unload(partition)
        if is_leader:
            self._load(partition)

    # --- finding the coordinator ------------------------------------------------------------------
    async def ensure_topic(self) -> bool:
        existed = self.broker.topic(TRANSACTION_STATE_TOPIC) is not None
        if not await self.state.ensure_topic():
            return False
        if not existed and not self.clustered:
            self._load_all()
        return True

    def coordinator_node(self, transactional_id: str, listener: str | None = None) -> BrokerNode | None:
        """The broker leading the transactional id's ``__transaction_state`` partition (on
        ``listener``, a client's; without one, the inter-broker listener)."""
        view = self.broker.partition_view(TRANSACTION_STATE_TOPIC, self.state.partition_for(transactional_id))
        if view is None or view.leader < 0:
            return None
        return self.broker.broker_node(view.leader, listener)

    # --- InitProducerId ---------------------------------------------------------------------------
    async def init_producer_id(
        self, transactional_id: str | None, timeout_ms: int, expected: tuple[int, int] | None
    ) -> InitResult:
        if transactional_id is None:
            new_id = await self._new_producer_id()
            return (
                InitResult(E.NONE, new_id, 0) if new_id >= 0 else InitResult(E.COORDINATOR_LOAD_IN_PROGRESS)
            )
        if not transactional_id:
            return InitResult(E.INVALID_REQUEST)
        if not self.state.validate_timeout(timeout_ms):
            return InitResult(E.INVALID_TRANSACTION_TIMEOUT)
        found = self.state.get(transactional_id)
        if found.error:
            return InitResult(found.error)
        if found.metadata is None:
            new_id = await self._new_producer_id()
            if new_id < 0:
                return InitResult(E.COORDINATOR_LOAD_IN_PROGRESS)
            created = TransactionMetadata(
                transactional_id, new_id, NO_PRODUCER_EPOCH, timeout_ms, txn_last_update_ms=now_ms()
            )
            found = self.state.put_if_absent(created)
            if found.error:
                return InitResult(found.error)
        metadata = found.metadata
        assert metadata is not None
        rotated = -1
        if metadata.epoch_exhausted:  # a fresh producer id may be needed: fetched before deciding
            rotated = await self._new_producer_id()
            found = self.state.get(transactional_id)
            if found.error or found.metadata is not metadata:
                return InitResult(found.error or E.CONCURRENT_TRANSACTIONS)
        prepared = self._prepare_init(metadata, timeout_ms, expected, rotated)
        if isinstance(prepared, int):
            return InitResult(prepared)
        if prepared.state is S.PREPARE_EPOCH_FENCE:
            # Abort the open transaction first (with the bumped epoch, fencing its producer); the
            # client retries on CONCURRENT_TRANSACTIONS and gets the next epoch once it is done.
            error = await self._end(
                transactional_id, prepared.producer_id, prepared.producer_epoch, False, from_client=False
            )
            if error and metadata.pending_state is S.PREPARE_EPOCH_FENCE:
                metadata.pending_state = None  # refused before anything was written
            return InitResult(error or E.CONCURRENT_TRANSACTIONS)
        error = await self.state.append(transactional_id, found.coordinator_epoch, prepared)
        if error:
            log.info("Returning %s to %s's InitProducerId", E.name(error), transactional_id)
            return InitResult(error)
        log.info(
            "Initialized transactionalId %s with producerId %d and producer epoch %d on partition %s-%d",
            transactional_id,
            prepared.producer_id,
            prepared.producer_epoch,
            TRANSACTION_STATE_TOPIC,
            self.state.partition_for(transactional_id),
        )
        return InitResult(E.NONE, prepared.producer_id, prepared.producer_epoch)

    async def _new_producer_id(self) -> int:
        """A new producer id, -1 when none can be had now (a cluster's controller unreachable)."""
        from kcli.server.state.broker import TopicError

        try:
            return await self.broker.allocate_producer_id()
        except TopicError as exc:
            log.warning("Cannot allocate a producer id: %s", exc.message)
            return -1

    def _prepare_init(
        self, m: TransactionMetadata, timeout_ms: int, expected: tuple[int, int] | None, rotated: int = -1
    ) -> TxnTransit | int:
        if m.pending:
            return E.CONCURRENT_TRANSACTIONS
        if expected is not None:
            pid, epoch = expected
            valid = (
                m.producer_epoch == NO_PRODUCER_EPOCH
                or pid == m.producer_id
                or (pid == m.previous_producer_id and epoch_exhausted(epoch))
            )
            if not valid:
                return E.PRODUCER_FENCED
        if m.state in (S.PREPARE_ABORT, S.PREPARE_COMMIT):
            return E.CONCURRENT_TRANSACTIONS
        if m.state in (S.COMPLETE_ABORT, S.COMPLETE_COMMIT, S.EMPTY):
            if m.epoch_exhausted and (expected is None or expected[1] == m.producer_epoch):
                if rotated < 0:
                    return E.COORDINATOR_LOAD_IN_PROGRESS
                return m.prepare_producer_id_rotation(rotated, timeout_ms, now_ms(), expected is not None)
            return m.prepare_increment_producer_epoch(
                timeout_ms, None if expected is None else expected[1], now_ms()
            )
        if m.state is S.ONGOING:
            return m.prepare_fence_producer_epoch()
        log.error(
            "Found transactionalId %s with state %s: this should never happen",
            m.transactional_id,
            m.state.label,
        )
        return E.UNKNOWN_SERVER_ERROR

    # --- AddPartitionsToTxn / AddOffsetsToTxn -----------------------------------------------------
    async def add_partitions(
        self, transactional_id: str, producer_id: int, producer_epoch: int, partitions: set[TopicPartition]
    ) -> int:
        if not transactional_id:
            return E.INVALID_REQUEST
        found = self.state.get(transactional_id)
        if found.error:
            return found.error
        m = found.metadata
        if m is None or m.producer_id != producer_id:
            return E.INVALID_PRODUCER_ID_MAPPING
        if m.producer_epoch != producer_epoch:
            return E.PRODUCER_FENCED
        if m.pending or m.state in (S.PREPARE_COMMIT, S.PREPARE_ABORT):
            return E.CONCURRENT_TRANSACTIONS
        if m.state is S.ONGOING and partitions <= m.partitions:
            return E.NONE
        transit = m.prepare_add_partitions(partitions, now_ms())
        return await self.state.append(transactional_id, found.coordinator_epoch, transit)

    def verify_partitions(
        self, transactional_id: str, producer_id: int, producer_epoch: int, partitions: set[TopicPartition]
    ) -> dict[TopicPartition, int]:
        """KIP-890: is each partition part of the producer's ongoing transaction? (verifyOnly)"""
        if not transactional_id:
            return dict.fromkeys(partitions, E.INVALID_REQUEST)
        found = self.state.get(transactional_id)
        m = found.metadata
        if found.error:
            error = found.error
        elif m is None or m.producer_id != producer_id:
            error = E.INVALID_PRODUCER_ID_MAPPING
        elif m.producer_epoch != producer_epoch:
            error = E.PRODUCER_FENCED
        elif m.state in (S.PREPARE_COMMIT, S.PREPARE_ABORT):
            error = E.CONCURRENT_TRANSACTIONS
        else:
            return {tp: E.NONE if tp in m.partitions else E.TRANSACTION_ABORTABLE for tp in partitions}
        return dict.fromkeys(partitions, error)

    # --- EndTxn -----------------------------------------------------------------------------------
    async def end_transaction(
        self, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool
    ) -> int:
        return await self._end(transactional_id, producer_id, producer_epoch, commit, from_client=True)

    async def _end(
        self, transactional_id: str, producer_id: int, epoch: int, commit: bool, from_client: bool
    ) -> int:
        if not transactional_id:
            return E.INVALID_REQUEST
        found = self.state.get(transactional_id)
        if found.error:
            return found.error
        m = found.metadata
        if m is None or m.producer_id != producer_id:
            return E.INVALID_PRODUCER_ID_MAPPING
        if not ((not from_client or epoch == m.producer_epoch) and epoch >= m.producer_epoch):
            return E.PRODUCER_FENCED
        if m.pending and m.pending_state is not S.PREPARE_EPOCH_FENCE:
            return E.CONCURRENT_TRANSACTIONS
        is_fence = False
        if m.state is S.ONGOING:
            if not commit and m.pending_state is S.PREPARE_EPOCH_FENCE:
                is_fence = True
                m.pending_state = None
                m.producer_epoch = epoch
                m.last_producer_epoch = NO_PRODUCER_EPOCH
            transit = m.prepare_abort_or_commit(S.PREPARE_COMMIT if commit else S.PREPARE_ABORT, now_ms())
        elif m.state is S.COMPLETE_COMMIT:
            return E.NONE if commit else E.INVALID_TXN_STATE  # a retry of a commit that completed
        elif m.state is S.COMPLETE_ABORT:
            return E.NONE if not commit else E.INVALID_TXN_STATE
        elif m.state is S.PREPARE_COMMIT:
            return E.CONCURRENT_TRANSACTIONS if commit else E.INVALID_TXN_STATE
        elif m.state is S.PREPARE_ABORT:
            return E.CONCURRENT_TRANSACTIONS if not commit else E.INVALID_TXN_STATE
        elif m.state is S.EMPTY:
            return E.INVALID_TXN_STATE
        else:
            log.error(
                "Found transactionalId %s with state %s: this should never happen",
                transactional_id,
                m.state.label,
            )
            return E.UNKNOWN_SERVER_ERROR
        epoch_then = found.coordinator_epoch
        error = await self.state.append(transactional_id, epoch_then, transit)
        if error:
            if is_fence:
                again = self.state.get(transactional_id)
                if again.metadata is m and again.coordinator_epoch == epoch_then:
                    m.has_failed_epoch_fence = True
                    log.warning(
                        "Could not write the epoch fence of %s (%s); epoch %d was not given out",
                        transactional_id,
                        E.name(error),
                        m.producer_epoch,
                    )
            return error
        again = self.state.get(transactional_id)
        if again.error:
            return again.error
        if again.metadata is not m or again.coordinator_epoch != epoch_then:
            return E.NOT_COORDINATOR
        if m.producer_id != producer_id:
            return E.INVALID_PRODUCER_ID_MAPPING
        if m.producer_epoch != epoch:
            return E.PRODUCER_FENCED
        if m.pending:
            return E.CONCURRENT_TRANSACTIONS
        if m.state is not (S.PREPARE_COMMIT if commit else S.PREPARE_ABORT):
            return E.INVALID_TXN_STATE
        complete = m.prepare_complete(now_ms())
        self.markers.add(epoch_then, commit, m, complete)
        return E.NONE

    # --- timeouts and expiry ----------------------------------------------------------------------
    def abort_timed_out(self) -> int:
        """Abort (fencing the producer) every Ongoing transaction past its timeout; returns how many."""
        started = 0
        for transactional_id, producer_id, _epoch in self.state.timed_out(now_ms()):
            found = self.state.get(transactional_id)
            m = found.metadata
            if m is None or m.producer_id != producer_id or m.pending:
                continue
            try:
                transit = m.prepare_fence_producer_epoch()
            except IllegalTransitionError as exc:
                log.error("Cannot abort the timed out transaction of %s: %s", transactional_id, exc)
                continue
            log.info(
                "Aborting the transaction of %s (producer id %d): open for more than its timeout of %d ms",
                transactional_id,
                producer_id,
                m.txn_timeout_ms,
            )
            self._spawn(self._abort_timed_out(transactional_id, transit))
            started += 1
        return started

    async def _abort_timed_out(self, transactional_id: str, transit: TxnTransit) -> None:
        error = await self._end(
            transactional_id, transit.producer_id, transit.producer_epoch, False, from_client=False
        )
        if error:
            found = self.state.get(transactional_id)
            m = found.metadata
            if m is not None and m.pending_state is S.PREPARE_EPOCH_FENCE:
                m.pending_state = None  # let the next round try again
            log.info(
                "Rollback of the timed out transaction of %s failed with %s", transactional_id, E.name(error)
            )
        else:
            log.info(
                "Completed rollback of ongoing transaction for transactionalId %s due to timeout",
                transactional_id,
            )

    async def _remove_expired(self) -> None:
        await self.state.remove_expired(now_ms())

    # --- DescribeTransactions / ListTransactions --------------------------------------------------
    def describe(self, transactional_id: str) -> dict[str, Any]:
        result: dict[str, Any] = {
            "error_code": E.NONE,
            "transactional_id": transactional_id,
            "transaction_state": "",
            "transaction_timeout": 0,
            "transaction_start_time": -1,
            "producer_id": NO_PRODUCER_ID,
            "producer_epoch": NO_PRODUCER_EPOCH,
            "topics": [],
        }
        if not transactional_id:
            result["error_code"] = E.INVALID_REQUEST
            return result
        found = self.state.get(transactional_id)
        m = found.metadata
        if found.error:
            result["error_code"] = found.error
        elif m is None or m.state is S.DEAD:
            result["error_code"] = E.TRANSACTIONAL_ID_NOT_FOUND
        else:
            by_topic: dict[str, list[int]] = {}
            for topic, partition in sorted(m.partitions):
                by_topic.setdefault(topic, []).append(partition)
            result.update(
                transaction_state=m.state.label,
                transaction_timeout=m.txn_timeout_ms,
                transaction_start_time=m.txn_start_ms,
                producer_id=m.producer_id,
                producer_epoch=m.producer_epoch,
                topics=[{"topic": t, "partitions": ps} for t, ps in by_topic.items()],
            )
        return result

    def list_transactions(
        self, producer_ids: set[int], states: set[str], min_duration_ms: int = -1
    ) -> tuple[int, list[dict], list[str]]:
        found, unknown = self.state.list(producer_ids, states, min_duration_ms, now_ms())
        return E.NONE, found, unknown

    # --- markers for this broker's own partitions -------------------------------------------------
    async def _write_local_markers(self, markers: list[Marker]) -> dict[int, dict[TopicPartition, int]]:
        return await write_markers(self.broker, markers, self.config.request_timeout_ms / 1000)
