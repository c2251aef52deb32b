"""CreateTopics, DeleteTopics and CreatePartitions.

Each request goes to the controller whole - its topics are checked one by one and committed
together - and is answered within the request's own timeout, however the controller is doing.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api
from kcli.server.cluster.replication_control import NewPartitions, NewTopic
from kcli.server.cluster.topic_rules import TopicError
from kcli.server.state.broker import Broker
from kcli.server.storage.catalog import TopicRecord


@api(19, "CreateTopics", 2, 7)
async def create_topics(ctx: RequestContext, request: Any) -> dict:
    """The request's topics go to the controller together (one commit, one bound on the records
    one request may create), answered within the request's timeout."""
    broker = ctx.broker
    entries: list[dict[str, Any]] = []
    wanted: list[tuple[dict[str, Any], NewTopic]] = []
    names = [t.name for t in request.topics]
    for t in request.topics:
        entry = _entry(t.name)
        entries.append(entry)
        assignment = {a.partition_index: list(a.broker_ids) for a in t.assignments} or None
        if names.count(t.name) > 1:
            entry.update(error_code=ErrorCode.invalid_request, error_message="Duplicate topic name.")
        elif assignment and (t.num_partitions != -1 or t.replication_factor != -1):
            entry.update(
                error_code=ErrorCode.invalid_request,
                error_message="Both numPartitions or replicationFactor and replicasAssignments "
                "were set. Both cannot be used at the same time.",
            )
        else:
            configs = {c.name: c.value for c in t.configs if c.value is not None}
            wanted.append(
                (entry, NewTopic(t.name, t.num_partitions, t.replication_factor, assignment, configs))
            )
    if wanted:
        try:
            results = await broker.create_topics(
                [r for _, r in wanted], request.validate_only, request.timeout.total_seconds()
            )
        except TopicError as exc:  # the controller could not be reached in time
            results = [exc] * len(wanted)
        for (entry, _), result in zip(wanted, results, strict=True):
            _fill(broker, entry, result)
    return {"throttle_time": 0, "topics": entries}


def _entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "topic_id": None,
        "error_code": ErrorCode.none,
        "error_message": None,
        "topic_config_error_code": ErrorCode.none,
        "num_partitions": -1,
        "replication_factor": -1,
        "configs": [],
    }


def _fill(broker: Broker, entry: dict[str, Any], result: TopicRecord | TopicError) -> None:
    """One topic's result entry: Kafka's error, or the topic with its effective configs."""
    if isinstance(result, TopicError):
        entry["error_code"], entry["error_message"] = result.error_code, result.message
        return
    entry["topic_id"] = result.topic_id
    entry["num_partitions"] = result.partitions
    entry["replication_factor"] = len(result.replicas[0]) if result.replicas else 0
    entry["configs"] = [
        {
            "name": name,
            "value": value,
            "read_only": False,
            "config_source": 1 if source == "topic" else 5,
            "is_sensitive": False,
        }
        for name, value, source in broker.topic_config_entries(result)
    ]


@api(20, "DeleteTopics", 1, 6)
async def delete_topics(ctx: RequestContext, request: Any) -> dict:
    broker = ctx.broker
    if ctx.version >= 6:
        items = [(t.name, t.topic_id) for t in request.topics]
    else:
        items = [(name, None) for name in request.topic_names]
    responses = []
    for name, topic_id in items:
        entry: dict[str, Any] = {
            "name": name,
            "topic_id": topic_id,
            "error_code": ErrorCode.none,
            "error_message": None,
        }
        if name is None and topic_id is not None:
            record = broker.topics_by_id.get(topic_id)
            if record is None:
                entry["error_code"] = ErrorCode.unknown_topic_id
                responses.append(entry)
                continue
            name = entry["name"] = record.name
        record = broker.topic(name) if name else None
        if record is None:
            entry["error_code"] = ErrorCode.unknown_topic_or_partition
            responses.append(entry)
            continue
        entry["topic_id"] = record.topic_id
        try:
            await broker.delete_topic(name, request.timeout.total_seconds())
        except TopicError as exc:
            entry["error_code"], entry["error_message"] = exc.error_code, exc.message
        responses.append(entry)
    return {"throttle_time": 0, "responses": responses}


@api(37, "CreatePartitions", 0, 3)
async def create_partitions(ctx: RequestContext, request: Any) -> dict:
    """New partitions, with the replicas an explicit assignment names (``kafka-topics --alter
    --replica-assignment``) or placed as for a new topic; all of the request's topics in one
    controller call."""
    wanted = [
        NewPartitions(
            t.name,
            t.count,
            None if t.assignments is None else [list(a.broker_ids) for a in t.assignments],
        )
        for t in request.topics
    ]
    try:
        errors = await ctx.broker.create_partitions(
            wanted, request.validate_only, request.timeout.total_seconds()
        )
    except TopicError as exc:  # the controller could not be reached in time
        errors = [exc] * len(wanted)
    return {
        "throttle_time": 0,
        "results": [
            {
                "name": t.name,
                "error_code": ErrorCode.none if e is None else e.error_code,
                "error_message": None if e is None else e.message,
            }
            for t, e in zip(request.topics, errors, strict=True)
        ],
    }
