"""The partition leader's side of WriteTxnMarkers: append COMMIT/ABORT control batches.

Each marker is appended to the partition's log like a produce with acks=all, with the control
bit set (the log checks its producer epoch and coordinator epoch, completes the producer's
transaction in the partition, and indexes an aborted one). For a ``__consumer_offsets``
partition the group coordinator is then told, so offsets committed in the transaction become
visible (commit) or are dropped (abort), as Kafka's KafkaApis.handleWriteTxnMarkersRequest does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kcli.server.protocol.control_records import end_txn_marker
from kcli.server.transaction import errors as E
from kcli.server.transaction.markers import Marker
from kcli.server.transaction.state import TopicPartition
from kcli.server.transaction.state_manager import now_ms

if TYPE_CHECKING:
    from kcli.server.base.partition import Partition
    from kcli.server.state.broker import Broker

log = logging.getLogger("kafka.server.KafkaApis")

OFFSETS_TOPIC = "__consumer_offsets"
DEFAULT_TIMEOUT_S = 30.0


async def write_markers(
    broker: Broker, markers: list[Marker], timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[int, dict[TopicPartition, int]]:
    """Append every marker to the partitions this broker leads, through the broker's one append
    path with acks=all: {producer id: {partition: error}}."""
    manager = broker.replica_manager
    results: dict[int, dict[TopicPartition, int]] = {}
    waits: list[tuple[Any, Partition, int]] = []
    outcomes: list[tuple[int, TopicPartition, Any]] = []
    for marker in markers:
        results.setdefault(marker.producer_id, {})
        for tp in sorted(marker.partitions):
            now = now_ms()
            batch = end_txn_marker(
                marker.producer_id, marker.producer_epoch, marker.commit, marker.coordinator_epoch, now
            )
            outcome, wait = manager.append_local(
                tp[0], tp[1], batch, -1, now, allow_control=True, origin_coordinator=True
            )
            outcomes.append((marker.producer_id, tp, outcome))
            if wait is not None:
                waits.append((outcome, *wait))
    await manager.await_acks(waits, timeout_s)
    for pid, tp, outcome in outcomes:
        results[pid][tp] = int(outcome.error)
    _complete_offsets(broker, markers, results)
    return results


def _complete_offsets(
    broker: Broker, markers: list[Marker], results: dict[int, dict[TopicPartition, int]]
) -> None:
    """Offsets committed in the transactions become visible (or are dropped) once the marker is in
    their ``__consumer_offsets`` partition."""
    coordinator = broker.coordinator
    complete = getattr(coordinator, "complete_transaction", None)
    if complete is None:
        return
    for marker in markers:
        done = [
            p for (t, p), code in results[marker.producer_id].items() if t == OFFSETS_TOPIC and code == E.NONE
        ]
        if not done:
            continue
        try:
            complete(marker.producer_id, set(done), marker.commit)
        except Exception:
            log.exception("Could not complete the transactional offsets of producer %d", marker.producer_id)
            for p in done:
                results[marker.producer_id][(OFFSETS_TOPIC, p)] = E.UNKNOWN_SERVER_ERROR
