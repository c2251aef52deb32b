"""DescribeQuorum (``kafka-metadata-quorum``): the controller quorum's state, from its leader.

As Kafka's brokers do, a broker forwards it to the active controller and answers with what that
controller says of ``__cluster_metadata-0``: the leader and its epoch, the high watermark, each
voter's log end offset and fetch times, and the brokers following the log as observers.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api
from kcli.server.security.acls import CLUSTER_NAME, AclOperation, ResourceType

METADATA_TOPIC = "__cluster_metadata"
ZERO_UUID = uuid.UUID(int=0)  # a static quorum's voters have no directory id (Kafka's ZERO_UUID)


def _directory_id(text: str) -> uuid.UUID:
    """A directory id as Kafka writes it (22 characters of URL-safe base64); zero when unreadable."""
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(text + "=="))
    except ValueError:
        return ZERO_UUID


def _replica(row: list[Any]) -> dict[str, Any]:
    """``[id, log end, last fetch ms, last caught-up ms]`` and, for a voter of a quorum bootstrapped
    by KIP-853, its directory id."""
    replica, end, fetched, caught_up = (int(x) for x in row[:4])
    return {
        "replica_id": replica,
        "replica_directory_id": _directory_id(str(row[4])) if len(row) > 4 and row[4] else ZERO_UUID,
        "log_end_offset": end,
        "last_fetch_timestamp": fetched,
        "last_caught_up_timestamp": caught_up,
    }


@api(55, "DescribeQuorum", 0, 2)
async def describe_quorum(ctx: RequestContext, request: Any) -> dict:
    from kcli.server.state.broker import TopicError

    if not ctx.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME):  # as KafkaApis
        return {
            "error_code": ErrorCode.cluster_authorization_failed,
            "error_message": None,
            "topics": [],
            "nodes": [],
        }
    wanted = [(t.topic_name, int(p.partition_index)) for t in request.topics for p in t.partitions]
    if wanted != [(METADATA_TOPIC, 0)]:
        message = "The request must ask for the partition __cluster_metadata-0 alone"
        return {"error_code": ErrorCode.invalid_request, "error_message": message, "topics": [], "nodes": []}
    try:
        info = await ctx.broker._call("ctl_describe_quorum")
    except TopicError as exc:
        return {"error_code": exc.error_code, "error_message": str(exc), "topics": [], "nodes": []}
    partition = {
        "partition_index": 0,
        "error_code": ErrorCode.none,
        "error_message": None,
        "leader_id": int(info["leader"]),
        "leader_epoch": int(info["epoch"]),
        "high_watermark": int(info["hw"]),
        "current_voters": [_replica(v) for v in info["voters"]],
        "observers": [_replica(o) for o in info["observers"]],
    }
    nodes = [
        {"node_id": int(n), "listeners": [{"name": "CONTROLLER", "host": str(h), "port": int(p)}]}
        for n, h, p in info.get("nodes", [])
    ]
    return {
        "error_code": ErrorCode.none,
        "error_message": None,
        "topics": [{"topic_name": METADATA_TOPIC, "partitions": [partition]}],
        "nodes": nodes,
    }
