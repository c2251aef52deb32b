"""Produce: validate each partition's record batches and append them as they are.

The storage layer checks batch headers and CRCs, assigns offsets by rewriting the header and
writes the bytes; records are never decoded here. Appending and waiting for acks=all is the
broker's one append path (:class:`kcli.server.state.replica_manager.ReplicaManager`), shared with the
group coordinator. With acks=0 no response is sent, as in Kafka. A transaction's first write to a
partition is checked with its coordinator first (KIP-890, :func:`verify_produce`).
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api
from kcli.server.protocol.fast_responses import encode_produce_response
from kcli.server.state.replica_manager import PartitionAppend


@api(0, "Produce", 3, 12, encoder=encode_produce_response)
async def produce(ctx: RequestContext, request: Any) -> dict | None:
    entries = [
        (topic.name, pd.index, pd.records or b"")
        for topic in request.topic_data
        for pd in topic.partition_data
    ]
    txn = ctx.broker.transaction_coordinator
    verify = txn is not None and txn.config.partition_verification
    guards: dict[tuple[str, int], Any] = {}
    refused: dict[tuple[str, int], tuple[int, str]] = {}
    if verify and request.transactional_id is not None and request.acks in (-1, 0, 1):
        from kcli.server.apis.transactions import verify_produce

        guards, refused = await verify_produce(ctx, request)
    appended = await ctx.broker.replica_manager.append_records(
        [e for e in entries if (e[0], e[1]) not in refused],
        request.acks,
        request.timeout.total_seconds(),
        ctx.received_ms,
        (lambda topic, index: {"txn_guard": guards.get((topic, index)), "verify_txn": True})
        if verify
        else None,
    )
    if request.acks == 0:
        return None
    done = iter(appended)
    results = iter(
        [
            PartitionAppend(ErrorCode(refused[(t, i)][0]), refused[(t, i)][1])
            if (t, i) in refused
            else next(done)
            for t, i, _ in entries
        ]
    )
    responses = []
    for topic in request.topic_data:
        parts = []
        for pd in topic.partition_data:
            outcome = next(results)
            parts.append(
                {
                    "index": pd.index,
                    "error_code": outcome.error,
                    "base_offset": outcome.base_offset,
                    "log_append_time": outcome.log_append_time,
                    "log_start_offset": outcome.log_start_offset,
                    "record_errors": [],
                    "error_message": outcome.message,
                }
            )
        responses.append({"name": topic.name, "partition_responses": parts})
    return {"responses": responses, "throttle_time": 0}
