"""Produce: validate each partition's record batches and append them as they are.

The storage layer checks batch headers and CRCs, assigns offsets by rewriting the header and
writes the bytes; records are never decoded here. Appending and waiting for acks=all is the
broker's one append path (:class:`kcli.server.replica_manager.ReplicaManager`), shared with the
group coordinator. With acks=0 no response is sent, as in Kafka.
"""

from __future__ import annotations

from typing import Any

from kcli.server.apis.registry import RequestContext, api
from kcli.server.protocol.fast_responses import encode_produce_response


@api(0, "Produce", 3, 12, encoder=encode_produce_response)
async def produce(ctx: RequestContext, request: Any) -> dict | None:
    entries = [
        (topic.name, pd.index, pd.records or b"")
        for topic in request.topic_data
        for pd in topic.partition_data
    ]
    outcomes = await ctx.broker.replica_manager.append_records(
        entries, request.acks, request.timeout.total_seconds(), ctx.received_ms
    )
    if request.acks == 0:
        return None
    results = iter(outcomes)
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
