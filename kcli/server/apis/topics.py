"""CreateTopics, DeleteTopics and CreatePartitions.

Each CreateTopics request's catalog changes are written once, when the request's topics are all done and before
it is answered (``Catalog.batched``): one fsync per request instead of one per topic. Deletes stay
one write per topic: the catalog must forget a topic before its directories go.
"""

from __future__ import annotations

import contextlib
from typing import Any

from kcli.server.apis.registry import RequestContext, api
from kcli.server.broker import TopicError
from kcli.server.storage.errors import KafkaStorageError

UNKNOWN_TOPIC_OR_PARTITION = 3
UNKNOWN_TOPIC_ID = 100


@api(19, "CreateTopics", 2, 7)
async def create_topics(ctx: RequestContext, request: Any) -> dict:
    results: list[dict[str, Any]] = []
    try:
        with ctx.broker.catalog.batched():
            results = [_create_topic(ctx, t, request.validate_only) for t in request.topics]
    except KafkaStorageError as exc:  # the catalog could not be written (a full disk): say so
        created = [e for e in results if not e["error_code"]]
        if not request.validate_only:
            _undo(ctx, [e["name"] for e in created])
        for entry in created:
            entry.update(error_code=exc.error_code, error_message=exc.message, topic_id=None)
    return {"throttle_time": 0, "topics": results}


def _undo(ctx: RequestContext, names: list[str]) -> None:
    """Take back topics the catalog could not record, so that neither this broker nor its next
    start has a topic the client was told does not exist (the catalog on disk never had them)."""
    if ctx.broker.cluster is not None:
        return  # the controller owns the metadata there
    try:
        with ctx.broker.catalog.batched():
            for name in names:
                with contextlib.suppress(TopicError):
                    ctx.broker.delete_topic(name)
    except KafkaStorageError:
        pass  # still full: the previous catalog, without these topics, stays in place


def _create_topic(ctx: RequestContext, t: Any, validate_only: bool) -> dict[str, Any]:
    """One topic of a CreateTopics request: its result entry, with Kafka's error code if refused."""
    broker = ctx.broker
    assignment = {a.partition_index: list(a.broker_ids) for a in t.assignments} or None
    configs = {c.name: c.value for c in t.configs if c.value is not None}
    entry: dict[str, Any] = {
        "name": t.name,
        "topic_id": None,
        "error_code": 0,
        "error_message": None,
        "topic_config_error_code": 0,
        "num_partitions": -1,
        "replication_factor": -1,
        "configs": [],
    }
    if assignment and (t.num_partitions != -1 or t.replication_factor != -1):
        entry["error_code"] = 42  # INVALID_REQUEST
        entry["error_message"] = (
            "Both numPartitions or replicationFactor and replicasAssignments "
            "were set. Both cannot be used at the same time."
        )
        return entry
    try:
        record = broker.create_topic(
            t.name, t.num_partitions, t.replication_factor, assignment, configs, validate_only=validate_only
        )
    except TopicError as exc:
        entry["error_code"], entry["error_message"] = exc.error_code, exc.message
        return entry
    entry["topic_id"] = record.topic_id
    entry["num_partitions"] = record.partitions
    entry["replication_factor"] = len(record.replicas[0]) if record.replicas else 0
    entry["configs"] = [
        {
            "name": name,
            "value": value,
            "read_only": False,
            "config_source": 1 if source == "topic" else 5,
            "is_sensitive": False,
        }
        for name, value, source in broker.topic_config_entries(record)
    ]
    return entry


@api(20, "DeleteTopics", 1, 6)
async def delete_topics(ctx: RequestContext, request: Any) -> dict:
    broker = ctx.broker
    if ctx.version >= 6:
        items = [(t.name, t.topic_id) for t in request.topics]
    else:
        items = [(name, None) for name in request.topic_names]
    responses = []
    for name, topic_id in items:
        entry: dict[str, Any] = {"name": name, "topic_id": topic_id, "error_code": 0, "error_message": None}
        if name is None and topic_id is not None:
            record = broker.topics_by_id.get(topic_id)
            if record is None:
                entry["error_code"] = UNKNOWN_TOPIC_ID
                responses.append(entry)
                continue
            name = entry["name"] = record.name
        record = broker.topic(name) if name else None
        if record is None:
            entry["error_code"] = UNKNOWN_TOPIC_OR_PARTITION
            responses.append(entry)
            continue
        entry["topic_id"] = record.topic_id
        try:
            broker.delete_topic(name)
        except TopicError as exc:
            entry["error_code"], entry["error_message"] = exc.error_code, exc.message
        responses.append(entry)
    return {"throttle_time": 0, "responses": responses}


@api(37, "CreatePartitions", 0, 3)
async def create_partitions(ctx: RequestContext, request: Any) -> dict:
    results = []
    for t in request.topics:
        entry: dict[str, Any] = {"name": t.name, "error_code": 0, "error_message": None}
        try:
            ctx.broker.create_partitions(t.name, t.count, validate_only=request.validate_only)
        except TopicError as exc:
            entry["error_code"], entry["error_message"] = exc.error_code, exc.message
        results.append(entry)
    return {"throttle_time": 0, "results": results}
