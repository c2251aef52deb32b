"""Replication APIs: OffsetForLeaderEpoch (followers truncate by it, consumers validate with it)
and ElectLeaders (``kafka-leader-election``, forwarded to the controller)."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api


def _end_offset(ctx: RequestContext, topic: str, item: Any) -> dict[str, Any]:
    result = {"partition": item.partition, "error_code": ErrorCode.none, "leader_epoch": -1, "end_offset": -1}
    partition, error = ctx.broker.leader_partition(topic, item.partition)
    if partition is None:
        result["error_code"] = error
        return result
    epoch_error = partition.epoch_error(getattr(item, "current_leader_epoch", -1))
    if epoch_error:
        result["error_code"] = epoch_error
        return result
    plog = partition.log
    epoch, end = plog.epoch_cache.end_offset_for(item.leader_epoch, plog.log_end_offset)
    result["leader_epoch"], result["end_offset"] = epoch, end
    return result


@api(23, "OffsetForLeaderEpoch", 2, 4)
async def offset_for_leader_epoch(ctx: RequestContext, request: Any) -> dict:
    topics = [
        {"topic": t.topic, "partitions": [_end_offset(ctx, t.topic, p) for p in t.partitions]}
        for t in request.topics
    ]
    return {"throttle_time": 0, "topics": topics}


@api(43, "ElectLeaders", 0, 2)
async def elect_leaders(ctx: RequestContext, request: Any) -> dict:
    wanted = None
    if request.topic_partitions is not None:
        wanted = [(t.topic, int(p)) for t in request.topic_partitions for p in t.partitions]
    election_type = int(getattr(request, "election_type", 0))
    from kcli.server.state.broker import TopicError

    try:
        results = await ctx.broker.elect_leaders(election_type, wanted, request.timeout.total_seconds())
    except TopicError as exc:
        return {"throttle_time": 0, "error_code": exc.error_code, "replica_election_results": []}
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for topic, partition, code, message in results:
        by_topic.setdefault(topic, []).append(
            {"partition_id": partition, "error_code": code, "error_message": message}
        )
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.none,
        "replica_election_results": [{"topic": t, "partition_result": r} for t, r in by_topic.items()],
    }
