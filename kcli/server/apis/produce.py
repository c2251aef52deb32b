"""Produce: validate each partition's record batches and append them as they are.

The storage layer checks batch headers and CRCs, assigns offsets by rewriting the header and
writes the bytes; records are never decoded here. With acks=0 no response is sent, as in Kafka.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kcli.server.apis.registry import RequestContext, api
from kcli.server.partition import Partition
from kcli.server.protocol.fast_responses import encode_produce_response

log = logging.getLogger("kafka.server.ReplicaManager")

NOT_LEADER_OR_FOLLOWER = 6
REQUEST_TIMED_OUT = 7
NOT_ENOUGH_REPLICAS = 19
NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20
UNKNOWN_SERVER_ERROR = -1
INVALID_REQUIRED_ACKS = 21
TRANSACTIONAL_ID_NOT_FOUND = 105


def _partition_error(index: int, code: int, message: str | None = None) -> dict[str, Any]:
    return {
        "index": index,
        "error_code": code,
        "base_offset": -1,
        "log_append_time": -1,
        "log_start_offset": -1,
        "record_errors": [],
        "error_message": message,
    }


def _not_enough(partition: Partition) -> str:
    return (
        f"The size of the current ISR {partition.isr} is insufficient to satisfy the min.isr requirement "
        f"of {partition.min_isr} for partition {partition.topic}-{partition.index}"
    )


async def _await_replication(
    pending: list[tuple[list[dict[str, Any]], list[tuple[Partition, int, int]]]], timeout_s: float
) -> None:
    """acks=all: answer once every appended batch is below its partition's high watermark, i.e.
    on every in-sync replica; REQUEST_TIMED_OUT after the request's timeout, as Kafka answers."""
    flat = [(parts, partition, last, slot) for parts, waits in pending for partition, last, slot in waits]
    done = await asyncio.gather(*(p.wait_for_high_watermark(last, timeout_s) for _, p, last, _ in flat))
    for ok, (parts, partition, _last, slot) in zip(done, flat, strict=True):
        if ok:
            if len(partition.isr) < partition.min_isr:
                parts[slot].update(
                    error_code=NOT_ENOUGH_REPLICAS_AFTER_APPEND, error_message=_not_enough(partition)
                )
            continue
        code = REQUEST_TIMED_OUT if partition.is_leader else NOT_LEADER_OR_FOLLOWER
        parts[slot].update(error_code=code, base_offset=-1, error_message=None)


@api(0, "Produce", 3, 12, encoder=encode_produce_response)
async def produce(ctx: RequestContext, request: Any) -> dict | None:
    broker = ctx.broker
    responses = []
    valid_acks = request.acks in (-1, 0, 1)
    pending: list[tuple[list[dict[str, Any]], list[tuple[Partition, int, int]]]] = []
    # Transactions (KIP-890): a transaction's first write to a partition is checked with its coordinator.
    txn = broker.transaction_coordinator
    verify = txn is not None and txn.config.partition_verification
    guards: dict[tuple[str, int], Any] = {}
    refused: dict[tuple[str, int], tuple[int, str]] = {}
    if verify and valid_acks and request.transactional_id is not None:
        from kcli.server.apis.transactions import verify_produce

        guards, refused = await verify_produce(ctx, request)
    for topic in request.topic_data:
        parts: list[dict[str, Any]] = []
        waits: list[tuple[Partition, int, int]] = []
        for pd in topic.partition_data:
            if not valid_acks:
                parts.append(_partition_error(pd.index, INVALID_REQUIRED_ACKS))
                continue
            partition, error = broker.leader_partition(topic.name, pd.index)
            if partition is None:
                parts.append(_partition_error(pd.index, error))
                continue
            if request.acks == -1 and len(partition.isr) < partition.min_isr:
                parts.append(_partition_error(pd.index, NOT_ENOUGH_REPLICAS, _not_enough(partition)))
                continue
            if (topic.name, pd.index) in refused:
                parts.append(_partition_error(pd.index, *refused[(topic.name, pd.index)]))
                continue
            try:
                result = partition.append(
                    pd.records or b"",
                    now_ms=ctx.received_ms,
                    txn_guard=guards.get((topic.name, pd.index)),
                    verify_txn=verify,
                )
            except Exception as exc:
                code = getattr(exc, "error_code", None)
                if code is None:
                    log.exception("Error appending to %s-%d", topic.name, pd.index)
                    code = UNKNOWN_SERVER_ERROR
                parts.append(_partition_error(pd.index, code, str(exc) or None))
                continue
            if request.acks == -1 and partition.log.high_watermark <= result.last_offset:
                waits.append((partition, result.last_offset, len(parts)))
            parts.append(
                {
                    "index": pd.index,
                    "error_code": 0,
                    "base_offset": result.base_offset,
                    "log_append_time": result.log_append_time,
                    "log_start_offset": result.log_start_offset,
                    "record_errors": [],
                    "error_message": None,
                }
            )
        responses.append({"name": topic.name, "partition_responses": parts})
        if waits:
            pending.append((parts, waits))
    if request.acks == 0:
        return None
    if pending:
        await _await_replication(pending, request.timeout.total_seconds())
    return {"responses": responses, "throttle_time": 0}
