"""Partition reassignment APIs (KIP-455): AlterPartitionReassignments, forwarded to the
controller as Kafka's brokers forward it, and ListPartitionReassignments, answered from the
broker's replay of the metadata log (the controller's own PartitionChangeRecords)."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api


@api(45, "AlterPartitionReassignments", 0, 0)
async def alter_partition_reassignments(ctx: RequestContext, request: Any) -> dict:
    from kcli.server.cluster.topic_rules import TopicError

    wanted = [
        (t.name, int(p.partition_index), None if p.replicas is None else [int(r) for r in p.replicas])
        for t in request.topics
        for p in t.partitions
    ]
    timeout_s = max(request.timeout.total_seconds(), 1.0)
    try:
        results = await ctx.broker.alter_partition_reassignments(wanted, timeout_s)
    except TopicError as exc:  # the controller is unreachable (REQUEST_TIMED_OUT) or refused it all
        return {
            "throttle_time": 0, "error_code": exc.error_code, "error_message": exc.message, "responses": [],
        }  # fmt: skip
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for (topic, partition, _), error in zip(wanted, results, strict=True):
        by_topic.setdefault(topic, []).append(
            {
                "partition_index": partition,
                "error_code": ErrorCode.none if error is None else error.error_code,
                "error_message": None if error is None else error.message,
            }
        )
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.none,
        "error_message": None,
        "responses": [{"name": t, "partitions": ps} for t, ps in by_topic.items()],
    }


@api(46, "ListPartitionReassignments", 0, 0)
async def list_partition_reassignments(ctx: RequestContext, request: Any) -> dict:
    wanted = None
    if request.topics is not None:
        wanted = [(t.name, int(p)) for t in request.topics for p in t.partition_indexes]
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for topic, index, st in ctx.broker.ongoing_reassignments(wanted):
        by_topic.setdefault(topic, []).append(
            {
                "partition_index": index,
                "replicas": list(st.replicas),
                "adding_replicas": list(st.adding),
                "removing_replicas": list(st.removing),
            }
        )
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.none,
        "error_message": None,
        "topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()],
    }
