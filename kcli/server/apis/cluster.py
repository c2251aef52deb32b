"""DescribeCluster and DeleteRecords (InitProducerId is in ``transactions``, the log dirs' APIs in
``log_dirs``)."""

from __future__ import annotations

import asyncio
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api


@api(60, "DescribeCluster", 0, 1)
async def describe_cluster(ctx: RequestContext, request: Any) -> dict:
    broker = ctx.broker
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.none,
        "error_message": None,
        "endpoint_type": 1,
        "cluster_id": broker.cluster_id,
        "controller_id": broker.controller_id,
        "brokers": [
            {"broker_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack}
            for b in broker.live_brokers(ctx.listener)
        ],
        "cluster_authorized_operations": -2147483648,
    }


@api(21, "DeleteRecords", 0, 2)
async def delete_records(ctx: RequestContext, request: Any) -> dict:
    """Move each partition's log start offset; answered, as Kafka's DelayedDeleteRecords, once
    every live replica has applied it (the low watermark reached the offset), so a failover
    cannot bring deleted records back. REQUEST_TIMED_OUT after the request's timeout."""
    broker = ctx.broker

    def alive(node_id: int) -> bool:
        return broker.broker_node(node_id) is not None

    topics = []
    waits: list[tuple[dict[str, Any], Any, int]] = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            partition, error = broker.leader_partition(t.name, p.partition_index)
            entry: dict[str, Any] = {
                "partition_index": p.partition_index,
                "low_watermark": -1,
                "error_code": ErrorCode.none,
            }
            if partition is None:
                entry["error_code"] = error  # followers take the new log start from the leader
            else:
                offset = partition.log.high_watermark if p.offset == -1 else p.offset
                if offset < 0 or offset > partition.log.high_watermark:
                    entry["error_code"] = ErrorCode.offset_out_of_range
                else:
                    partition.log.delete_records_before(offset)
                    partition.wake_fetchers()  # followers long-polling learn the new start sooner
                    waits.append((entry, partition, offset))
            parts.append(entry)
        topics.append({"name": t.name, "partitions": parts})
    timeout_s = max(request.timeout.total_seconds(), 0.0)
    done = await asyncio.gather(*(p.wait_for_low_watermark(o, alive, timeout_s) for _, p, o in waits))
    for ok, (entry, partition, _offset) in zip(done, waits, strict=True):
        if ok:
            entry["low_watermark"] = partition.low_watermark(alive)
        else:
            entry["error_code"] = (
                ErrorCode.request_timed_out if partition.is_leader else ErrorCode.not_leader_or_follower
            )
    return {"throttle_time": 0, "topics": topics}
