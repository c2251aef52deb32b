"""DescribeQuorum (``kafka-metadata-quorum``): the controller quorum's state, from its leader;
AddRaftVoter and RemoveRaftVoter (KIP-853): changes of its voter set.

As Kafka's brokers do, a broker forwards them to the active controller (the Raft leader) and
answers with what it says: for DescribeQuorum, of ``__cluster_metadata-0``, the leader and its
epoch, the high watermark, each voter's log end offset and fetch times, and the replicas following
the log as observers; for a voter change, once it is committed, or the controller's error (Kafka's
codes: DUPLICATE_VOTER, VOTER_NOT_FOUND, REQUEST_TIMED_OUT while another change is uncommitted or
the new voter has not caught up, ...). Both need ALTER on the cluster, as in Kafka.
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


def _millis(value: Any) -> int:
    """kio gives a timeout as a timedelta."""
    return int(value.total_seconds() * 1000) if hasattr(value, "total_seconds") else int(value)


def _uuid_text(value: uuid.UUID | None) -> str:
    return base64.urlsafe_b64encode((value or ZERO_UUID).bytes).decode().rstrip("=")


async def _change_voters(ctx: RequestContext, op: str, timeout_ms: int, **fields: Any) -> dict:
    from kcli.server.state.broker import TopicError

    base = {"throttle_time": 0, "error_message": None}
    if not ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME):
        return {**base, "error_code": ErrorCode.cluster_authorization_failed}
    timeout_ms = min(max(timeout_ms, 1000), 60000)
    try:
        await ctx.broker._call(op, timeout_ms / 1000 + 5, timeout_ms=timeout_ms, **fields)
    except TopicError as exc:
        if "unknown operation" in str(exc):  # a broker's own in-process controller: no quorum
            message = "Cluster doesn't support changing the voters: its controller is not a KRaft quorum"
            return {**base, "error_code": ErrorCode.unsupported_version, "error_message": message}
        return {**base, "error_code": exc.error_code, "error_message": str(exc)}
    return {**base, "error_code": ErrorCode.none}


@api(80, "AddRaftVoter", 0, 0)
async def add_raft_voter(ctx: RequestContext, request: Any) -> dict:
    listener = request.listeners[0] if request.listeners else None
    if listener is None:
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.invalid_request,
            "error_message": "The new voter names no listener",
        }
    return await _change_voters(
        ctx,
        "raft_add_voter",
        _millis(request.timeout),
        cluster_id=request.cluster_id or "",
        voter_id=int(request.voter_id),
        directory_id=_uuid_text(request.voter_directory_id),
        listener=str(listener.name),
        host=str(listener.host),
        port=int(listener.port),
    )


@api(81, "RemoveRaftVoter", 0, 0)
async def remove_raft_voter(ctx: RequestContext, request: Any) -> dict:
    return await _change_voters(
        ctx,
        "raft_remove_voter",
        30000,
        cluster_id=request.cluster_id or "",
        voter_id=int(request.voter_id),
        directory_id=_uuid_text(request.voter_directory_id),
    )
