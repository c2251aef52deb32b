"""The partition leader's side of WriteTxnMarkers: append COMMIT/ABORT control batches.

Each marker is appended to the partition's log like a produce with acks=all, with the control
bit set (the log checks its producer epoch and coordinator epoch, completes the producer's
transaction in the partition, and indexes an aborted one). For a ``__consumer_offsets``
partition the group coordinator is then told, so offsets committed in the transaction become
visible (commit) or are dropped (abort), as Kafka's KafkaApis.handleWriteTxnMarkersRequest does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from kcli.server.protocol.control_records import end_txn_marker
from kcli.server.transaction import errors as E
from kcli.server.transaction.markers import Marker
from kcli.server.transaction.state import TopicPartition
from kcli.server.transaction.state_manager import now_ms

if TYPE_CHECKING:
    from kcli.server.broker import Broker
    from kcli.server.partition import Partition

log = logging.getLogger("kafka.server.KafkaApis")

OFFSETS_TOPIC = "__consumer_offsets"
DEFAULT_TIMEOUT_S = 30.0


async def write_markers(
    broker: Broker, markers: list[Marker], timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[int, dict[TopicPartition, int]]:
    """Append every marker to the partitions this broker leads: {producer id: {partition: error}}."""
    results: dict[int, dict[TopicPartition, int]] = {}
    waits: list[tuple[int, TopicPartition, Partition, int]] = []
    for marker in markers:
        errors = results.setdefault(marker.producer_id, {})
        for tp in sorted(marker.partitions):
            partition, code = broker.leader_partition(*tp)
            if partition is None:
                errors[tp] = code
                continue
            if len(partition.isr) < partition.min_isr:
                errors[tp] = E.NOT_ENOUGH_REPLICAS
                continue
            now = now_ms()
            batch = end_txn_marker(
                marker.producer_id, marker.producer_epoch, marker.commit, marker.coordinator_epoch, now
            )
            try:
                result = partition.append(batch, now_ms=now, allow_control=True, origin_coordinator=True)
            except Exception as exc:
                code = getattr(exc, "error_code", None)
                if code is None:
                    log.exception("Error writing a transaction marker to %s-%d", *tp)
                    code = E.UNKNOWN_SERVER_ERROR
                errors[tp] = code
                continue
            errors[tp] = E.NONE
            if partition.log.high_watermark <= result.last_offset:
                waits.append((marker.producer_id, tp, partition, result.last_offset))
    if waits:
        done = await asyncio.gather(*(p.wait_for_high_watermark(last, timeout_s) for _, _, p, last in waits))
        for ok, (pid, tp, partition, _) in zip(done, waits, strict=True):
            if not ok:
                results[pid][tp] = E.REQUEST_TIMED_OUT if partition.is_leader else E.NOT_LEADER_OR_FOLLOWER
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
