"""The marker sender (Kafka's TransactionMarkerChannelManager and its completion handler).

Once PrepareCommit or PrepareAbort is in ``__transaction_state``, the coordinator owes every
partition of the transaction a COMMIT or ABORT marker. The sender groups the partitions by their
current leader and sends each leader one WriteTxnMarkers request at a time: this broker's own
partitions are written in-process (the same code the WriteTxnMarkers handler runs), other
brokers' through an inter-broker connection. A partition whose leader is unknown or unreachable,
or which answers a retriable error (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, ...), is queued
again for whoever leads it then; a deleted partition is dropped. When the last partition has its
marker, CompleteCommit/CompleteAbort is written and the transactional id is free again.

If this broker stops coordinating the transactional id (its ``__transaction_state`` partition
moved), its pending markers are dropped: the new coordinator finds the transaction in
PrepareCommit/PrepareAbort when it loads the partition and sends them itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kcli.server.transaction import errors as E
from kcli.server.transaction.state import TopicPartition, TransactionMetadata, TransactionState, TxnTransit
from kcli.server.transaction.state_manager import TransactionStateManager

if TYPE_CHECKING:
    from kcli.server.state.broker import Broker

log = logging.getLogger("kafka.coordinator.transaction.TransactionMarkerChannelManager")

WRITE_TXN_MARKERS = 27
WRITE_TXN_MARKERS_VERSION = 1
RETRY_BACKOFF_S = 0.1
UNKNOWN_DESTINATION = -1

_RETRIABLE = frozenset(
    {
        E.UNKNOWN_TOPIC_OR_PARTITION,
        E.NOT_LEADER_OR_FOLLOWER,
        E.NOT_ENOUGH_REPLICAS,
        E.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        E.REQUEST_TIMED_OUT,
        E.KAFKA_STORAGE_ERROR,
        E.COORDINATOR_LOAD_IN_PROGRESS,
    }
)
_GIVE_UP = frozenset({E.INVALID_PRODUCER_EPOCH, E.TRANSACTION_COORDINATOR_FENCED})


@dataclass(frozen=True)
class Marker:
    """One WriteTxnMarkers entry: a producer's COMMIT or ABORT for some partitions."""

    producer_id: int
    producer_epoch: int
    coordinator_epoch: int
    commit: bool
    partitions: frozenset[TopicPartition]


@dataclass(eq=False)
class PendingCompletion:
    """A transaction whose markers are being written; ``transit`` completes it afterwards."""

    transactional_id: str
    coordinator_epoch: int
    metadata: TransactionMetadata
    transit: TxnTransit


# Writes markers for partitions this broker leads: {producer id: {partition: error code}}.
LocalWriter = Callable[[list[Marker]], Awaitable[dict[int, dict[TopicPartition, int]]]]


@dataclass(eq=False)
class _Destination:
    broker_id: int
    queue: list[tuple[PendingCompletion, Marker]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    conn: Any = None


class TransactionMarkerSender:
    def __init__(self, broker: Broker, state: TransactionStateManager, write_local: LocalWriter):
        self.broker = broker
        self.state = state
        self.write_local = write_local
        self.pending: dict[str, PendingCompletion] = {}
        self.destinations: dict[int, _Destination] = {}
        self._retries: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # --- entry points ------------------------------------------------------------------------------
    def add(
        self, coordinator_epoch: int, commit: bool, metadata: TransactionMetadata, transit: TxnTransit
    ) -> None:
        """Start writing the markers of a transaction now in PrepareCommit/PrepareAbort."""
        pending = PendingCompletion(metadata.transactional_id, coordinator_epoch, metadata, transit)
        previous = self.pending.get(metadata.transactional_id)
        if previous is not None:
            log.info("Replacing pending markers of %s", metadata.transactional_id)
        self.pending[metadata.transactional_id] = pending
        self._enqueue(
            pending, metadata.producer_id, metadata.producer_epoch, commit, set(metadata.partitions)
        )
        self.maybe_complete(metadata.transactional_id)

    def remove_for_partition(self, txn_partition: int) -> None:
        """Leadership of ``__transaction_state``-``txn_partition`` moved: forget its transactions."""
        for txn_id in [t for t in self.pending if self.state.partition_for(t) == txn_partition]:
            del self.pending[txn_id]
        for dest in self.destinations.values():
            dest.queue = [(p, m) for p, m in dest.queue if self.pending.get(p.transactional_id) is p]

    def in_flight(self, transactional_id: str) -> bool:
        return transactional_id in self.pending

    async def close(self) -> None:
        self._closed = True
        for handle in self._retries:
            handle.cancel()
        tasks = [d.task for d in self.destinations.values() if d.task is not None] + list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for dest in self.destinations.values():
            if dest.conn is not None:
                await dest.conn.close()

    # --- routing -----------------------------------------------------------------------------------
    def _enqueue(
        self,
        pending: PendingCompletion,
        producer_id: int,
        epoch: int,
        commit: bool,
        partitions: set[TopicPartition],
    ) -> None:
        if self._closed or self.pending.get(pending.transactional_id) is not pending:
            return
        by_leader: dict[int, set[TopicPartition]] = {}
        for tp in partitions:
            view = self.broker.partition_view(*tp)
            if view is None:
                # The topic or partition no longer exists: no marker can (or needs to) go there.
                log.info(
                    "Partition %s-%d of %s's transaction no longer exists; skipping its marker",
                    tp[0],
                    tp[1],
                    pending.transactional_id,
                )
                if pending.metadata.state in (
                    TransactionState.PREPARE_COMMIT,
                    TransactionState.PREPARE_ABORT,
                ):
                    pending.metadata.remove_partition(tp)
                continue
            leader = view.leader if self.broker.broker_node(view.leader) is not None else UNKNOWN_DESTINATION
            by_leader.setdefault(leader, set()).add(tp)
        for leader, tps in by_leader.items():
            marker = Marker(producer_id, epoch, pending.coordinator_epoch, commit, frozenset(tps))
            if leader == UNKNOWN_DESTINATION:
                self._retry_later(pending, marker)  # no live leader yet: look again shortly
                continue
            dest = self._destination(leader)
            dest.queue.append((pending, marker))
            dest.wake.set()

    def _retry_later(self, pending: PendingCompletion, marker: Marker) -> None:
        if self._closed:
            return
        loop = asyncio.get_running_loop()

        def again() -> None:
            self._retries.discard(handle)
            self._enqueue(
                pending, marker.producer_id, marker.producer_epoch, marker.commit, set(marker.partitions)
            )

        handle = loop.call_later(RETRY_BACKOFF_S, again)
        self._retries.add(handle)

    def _destination(self, broker_id: int) -> _Destination:
        dest = self.destinations.get(broker_id)
        if dest is None:
            dest = self.destinations[broker_id] = _Destination(broker_id)
            dest.task = asyncio.get_running_loop().create_task(self._run(dest))
        return dest

    # --- sending -----------------------------------------------------------------------------------
    async def _run(self, dest: _Destination) -> None:
        while not self._closed:
            if not dest.queue:
                dest.wake.clear()
                await dest.wake.wait()
                continue
            batch, dest.queue = dest.queue, []
            batch = [(p, m) for p, m in batch if self.pending.get(p.transactional_id) is p]
            if not batch:
                continue
            try:
                results = await self._send(dest, [m for _, m in batch])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("Sending transaction markers to broker %d failed: %s; retrying", dest.broker_id, exc)
                if dest.conn is not None:
                    await dest.conn.close()
                    dest.conn = None
                for pending, marker in batch:
                    self._retry_later(pending, marker)
                continue
            for pending, marker in batch:
                self._on_result(pending, marker, results.get(marker.producer_id, {}))

    async def _send(self, dest: _Destination, markers: list[Marker]) -> dict[int, dict[TopicPartition, int]]:
        if dest.broker_id == self.broker.node_id:
            return await self.write_local(markers)
        from kcli.server.cluster.kafka_connection import KafkaConnection
        from kcli.server.security import inter_broker_client

        if dest.conn is None:
            node = self.broker.broker_node(dest.broker_id)
            if node is None:
                raise ConnectionError(f"broker {dest.broker_id} is not alive")
            conn = KafkaConnection(
                node.host,
                node.port,
                f"broker-{self.broker.node_id}-txn-marker-sender",
                inter_broker_client(self.broker),
            )
            await conn.open()
            dest.conn = conn
        body = {"markers": [_marker_body(m) for m in markers]}
        response = await dest.conn.request(WRITE_TXN_MARKERS, WRITE_TXN_MARKERS_VERSION, body)
        out: dict[int, dict[TopicPartition, int]] = {}
        for result in response.markers:
            errors = out.setdefault(int(result.producer_id), {})
            for topic in result.topics:
                for p in topic.partitions:
                    errors[(topic.name, int(p.partition_index))] = int(p.error_code)
        return out

    def _on_result(
        self, pending: PendingCompletion, marker: Marker, errors: dict[TopicPartition, int]
    ) -> None:
        if self.pending.get(pending.transactional_id) is not pending:
            return
        found = self.state.get(pending.transactional_id)
        if (
            found.error
            or found.metadata is not pending.metadata
            or found.coordinator_epoch != marker.coordinator_epoch
        ):
            log.info(
                "No longer the coordinator of %s at epoch %d; dropping its markers",
                pending.transactional_id,
                marker.coordinator_epoch,
            )
            self.pending.pop(pending.transactional_id, None)
            return
        metadata = pending.metadata
        retry: set[TopicPartition] = set()
        for tp in marker.partitions:
            code = errors.get(tp, E.UNKNOWN_SERVER_ERROR)
            if code == E.NONE:
                metadata.remove_partition(tp)
            elif code in _GIVE_UP:
                log.info(
                    "The marker of %s for %s-%d failed permanently with %s; no more markers are sent for it",
                    pending.transactional_id,
                    tp[0],
                    tp[1],
                    E.name(code),
                )
                self.pending.pop(pending.transactional_id, None)
                return
            else:
                if code not in _RETRIABLE:
                    log.warning(
                        "Unexpected %s writing the marker of %s to %s-%d; retrying",
                        E.name(code),
                        pending.transactional_id,
                        *tp,
                    )
                retry.add(tp)
        if retry:
            self._retry_later(
                pending,
                Marker(
                    marker.producer_id,
                    marker.producer_epoch,
                    marker.coordinator_epoch,
                    marker.commit,
                    frozenset(retry),
                ),
            )
        else:
            self.maybe_complete(pending.transactional_id)

    # --- completion --------------------------------------------------------------------------------
    def maybe_complete(self, transactional_id: str) -> None:
        pending = self.pending.get(transactional_id)
        if pending is None or pending.metadata.partitions:
            return
        del self.pending[transactional_id]
        task = asyncio.get_running_loop().create_task(self._write_completion(pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_completion(self, pending: PendingCompletion) -> None:
        """Append CompleteCommit/CompleteAbort; retried while the log is unavailable."""
        while not self._closed:
            found = self.state.get(pending.transactional_id)
            if (
                found.error
                or found.metadata is not pending.metadata
                or found.coordinator_epoch != pending.coordinator_epoch
            ):
                log.info(
                    "No longer the coordinator of %s; not completing its transaction",
                    pending.transactional_id,
                )
                return
            error = await self.state.append(
                pending.transactional_id,
                pending.coordinator_epoch,
                pending.transit,
                retry_on_error=lambda code: code == E.COORDINATOR_NOT_AVAILABLE,
            )
            if error != E.COORDINATOR_NOT_AVAILABLE:
                if error == E.NONE:
                    log.debug(
                        "Completed transaction of %s as %s",
                        pending.transactional_id,
                        pending.transit.state.label,
                    )
                return
            await asyncio.sleep(RETRY_BACKOFF_S)


def _marker_body(m: Marker) -> dict[str, Any]:
    by_topic: dict[str, list[int]] = {}
    for topic, partition in sorted(m.partitions):
        by_topic.setdefault(topic, []).append(partition)
    return {
        "producer_id": m.producer_id,
        "producer_epoch": m.producer_epoch,
        "transaction_result": m.commit,
        "topics": [{"name": t, "partition_indexes": ps} for t, ps in by_topic.items()],
        "coordinator_epoch": m.coordinator_epoch,
    }
