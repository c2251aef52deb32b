"""The one path by which records are appended to partitions this broker leads: Kafka's
``ReplicaManager.appendRecords``.

Produce, the group coordinator (group metadata and offset commits into ``__consumer_offsets``)
and anything else that writes a partition go through :meth:`ReplicaManager.append_records`, so
an acknowledgement means the same thing for all of them: with ``required_acks=-1`` the batch is
below the high watermark, i.e. on every replica of the ISR, and the ISR held at least
``min.insync.replicas`` replicas. The local append happens at once and in call order (the
coordinator's state machine relies on that); only the wait for the followers is asynchronous.
The schema registry writes ``_schemas`` as an ordinary producer with ``acks=all``, so it comes
through here by way of Produce.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from kcli.server.base.partition import Partition

if TYPE_CHECKING:
    from kcli.server.base.broker_view import BrokerView as Broker

log = logging.getLogger("kafka.server.ReplicaManager")


@dataclass(slots=True)
class PartitionAppend:
    """One partition's outcome, as a Produce response reports it."""

    error: ErrorCode = ErrorCode.none
    message: str | None = None
    base_offset: int = -1
    log_append_time: int = -1
    log_start_offset: int = -1


def not_enough_replicas_message(partition: Partition) -> str:
    """Kafka's text for NOT_ENOUGH_REPLICAS(_AFTER_APPEND)."""
    return (
        f"The size of the current ISR {partition.isr} is insufficient to satisfy the min.isr requirement "
        f"of {partition.min_isr} for partition {partition.topic}-{partition.index}"
    )


class ReplicaManager:
    """Appends as leader and waits for the acknowledgements the caller asks for."""

    def __init__(self, broker: Broker):
        self.broker = broker

    def append_local(
        self, topic: str, index: int, records: bytes, required_acks: int, now_ms: int, **options: Any
    ) -> tuple[PartitionAppend, tuple[Partition, int] | None]:
        """Append one partition's batches now; returns the outcome so far and, when the caller
        must wait for the ISR (acks=-1), the partition and the last offset to wait for.

        ``options`` go to the log's append (transaction markers, coordinator writes, KIP-890
        verification guards)."""
        partition, code = self.broker.leader_partition(topic, index)
        if partition is None:
            return PartitionAppend(ErrorCode(code)), None
        if required_acks == -1 and len(partition.isr) < partition.min_isr:
            # Checked before appending, as Kafka's Partition.appendRecordsToLeader does: nothing
            # is written that the caller is told failed.
            return PartitionAppend(
                ErrorCode.not_enough_replicas, not_enough_replicas_message(partition)
            ), None
        try:
            result = partition.append(records, now_ms=now_ms, **options)
        except Exception as exc:
            code = getattr(exc, "error_code", None)
            if code is None:
                log.exception("Error appending to %s-%d", topic, index)
                code = ErrorCode.unknown_server_error
            return PartitionAppend(ErrorCode(code), str(exc) or None), None
        outcome = PartitionAppend(
            ErrorCode.none, None, result.base_offset, result.log_append_time, result.log_start_offset
        )
        if required_acks == -1 and partition.log.high_watermark <= result.last_offset:
            return outcome, (partition, result.last_offset)
        return outcome, None

    async def await_acks(self, waits: list[tuple[PartitionAppend, Partition, int]], timeout_s: float) -> None:
        """acks=-1: each outcome is final once its offset is below the high watermark (on every
        in-sync replica); REQUEST_TIMED_OUT after ``timeout_s``, NOT_LEADER_OR_FOLLOWER when
        leadership moved meanwhile, NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below
        ``min.insync.replicas`` on the way (Kafka's DelayedProduce)."""
        if not waits:
            return
        done = await asyncio.gather(*(p.wait_for_high_watermark(last, timeout_s) for _, p, last in waits))
        for ok, (outcome, partition, _last) in zip(done, waits, strict=True):
            if ok:
                if len(partition.isr) < partition.min_isr:
                    outcome.error = ErrorCode.not_enough_replicas_after_append
                    outcome.message = not_enough_replicas_message(partition)
                continue
            outcome.error = (
                ErrorCode.request_timed_out if partition.is_leader else ErrorCode.not_leader_or_follower
            )
            outcome.base_offset = -1
            outcome.message = None

    async def append_records(
        self,
        entries: list[tuple[str, int, bytes]],
        required_acks: int,
        timeout_s: float,
        now_ms: int,
        options_for: Callable[[str, int], dict[str, Any]] | None = None,
    ) -> list[PartitionAppend]:
        """Append every (topic, partition, batches) entry, then wait as ``required_acks`` asks.
        The outcomes are in the order of ``entries``; ``options_for`` gives a partition's append
        options (Produce's transaction verification)."""
        if required_acks not in (-1, 0, 1):
            return [PartitionAppend(ErrorCode.invalid_required_acks) for _ in entries]
        outcomes: list[PartitionAppend] = []
        waits: list[tuple[PartitionAppend, Partition, int]] = []
        for topic, index, records in entries:
            options = options_for(topic, index) if options_for is not None else {}
            outcome, wait = self.append_local(topic, index, records, required_acks, now_ms, **options)
            outcomes.append(outcome)
            if wait is not None:
                waits.append((outcome, *wait))
        await self.await_acks(waits, timeout_s)
        return outcomes
