"""Metadata: brokers, cluster id, controller, and topics with partitions and topic ids.

A request naming an unknown topic auto-creates it when ``auto.create.topics.enable`` is on and the
client allows it (``allow_auto_topic_creation``, v4+).
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api
from kcli.server.broker import Broker, topic_name_problem


def topic_metadata(broker: Broker, name: str) -> dict[str, Any]:
    record = broker.topic(name)
    assert record is not None
    partitions = []
    for index in range(record.partitions):
        view = broker.partition_view(name, index)
        if view is None:
            continue
        partitions.append(
            {
                "error_code": ErrorCode.leader_not_available if view.leader < 0 else 0,
                "partition_index": index,
                "leader_id": view.leader,
                "leader_epoch": view.leader_epoch,
                "replica_nodes": view.replicas,
                "isr_nodes": view.isr,
                "offline_replicas": view.offline,
            }
        )
    return {
        "error_code": ErrorCode.none,
        "name": name,
        "topic_id": record.topic_id,
        "is_internal": record.internal,
        "partitions": partitions,
        "topic_authorized_operations": -2147483648,
    }


def _error_topic(name: str | None, code: int, topic_id: Any = None) -> dict[str, Any]:
    return {"error_code": code, "name": name, "topic_id": topic_id, "is_internal": False, "partitions": []}


@api(3, "Metadata", 0, 12)
async def metadata(ctx: RequestContext, request: Any) -> dict:
    broker = ctx.broker
    requested = request.topics
    if ctx.version == 0 and requested == ():
        requested = None  # v0: an empty list means every topic
    allow_auto = getattr(request, "allow_auto_topic_creation", True)
    topics = []
    if requested is None:
        topics = [topic_metadata(broker, name) for name in sorted(broker.catalog.topics)]
    else:
        for item in requested:
            name = item.name
            topic_id = getattr(item, "topic_id", None)
            if name is None and topic_id is not None and topic_id.int != 0:
                record = broker.topics_by_id.get(topic_id)
                if record is None:
                    topics.append(_error_topic(None, ErrorCode.unknown_topic_id, topic_id))
                    continue
                name = record.name
            if name is None:
                continue
            if broker.topic(name) is not None:
                topics.append(topic_metadata(broker, name))
            elif topic_name_problem(name):
                topics.append(_error_topic(name, ErrorCode.invalid_topic_exception))
            elif allow_auto and await broker.auto_create(name) is not None:
                # Creation here is synchronous, so the new topic's leader is known at once and the
                # client need not retry after ErrorCode.leader_not_available as it would with Kafka.
                topics.append(topic_metadata(broker, name))
            else:
                topics.append(_error_topic(name, ErrorCode.unknown_topic_or_partition))
    return {
        "throttle_time": 0,
        "brokers": [
            {"node_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack}
            for b in broker.live_brokers(ctx.listener)
        ],
        "cluster_id": broker.cluster_id,
        "controller_id": broker.controller_id,
        "topics": topics,
        "cluster_authorized_operations": -2147483648,
    }
