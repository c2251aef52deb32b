"""The authorization of the data path, as KafkaApis checks it: Produce, Fetch, ListOffsets,
OffsetForLeaderEpoch and Metadata.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from kcli.server.apis.registry import RequestContext
from kcli.server.authorization.authorization_base import (
    NOT_REQUESTED,
    TOPIC_DENIED,
    TXN_DENIED,
    ZERO_UUID,
    AuthorizationRules,
    CloseConnection,
    Handler,
    Op,
    Res,
    as_dict,
    partition_errors,
)
from kcli.server.security.acls import CLUSTER_NAME


class DataPathRules(AuthorizationRules):
    """Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, Metadata."""

    # --- Produce / Fetch / ListOffsets / OffsetForLeaderEpoch ---------------------------------
    async def _produce(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        txn = getattr(request, "transactional_id", None)
        names = [t.name for t in request.topic_data]
        if txn is not None and not ctx.authorize(Op.WRITE, Res.TRANSACTIONAL_ID, txn):
            denied_code, allowed = TXN_DENIED, set()
        else:
            denied_code, allowed = TOPIC_DENIED, self._allowed(ctx, Op.WRITE, Res.TOPIC, names)
        denied = [t for t in request.topic_data if t.name not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(
            request, topic_data=tuple(t for t in request.topic_data if t.name in allowed)
        )
        result = await handler(ctx, kept) if kept.topic_data else None
        if request.acks == 0:
            raise CloseConnection(
                f"Produce with acks=0 to topics it may not write: {sorted({t.name for t in denied})}"
            )
        data = as_dict(result) if result is not None else {"responses": [], "throttle_time": 0}
        data["responses"] = list(data["responses"]) + [
            {
                "name": t.name,
                "partition_responses": [
                    {"index": p.index, "error_code": denied_code, "base_offset": -1, "log_append_time": -1,
                     "log_start_offset": -1, "record_errors": [], "error_message": None}
                    for p in t.partition_data
                ],
            }
            for t in denied
        ]  # fmt: skip
        return data

    async def _fetch(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        by_id = ctx.version >= 13
        follower = _replica_id(request) >= 0

        def name_of(topic: Any) -> str | None:
            if not by_id:
                return topic.topic
            record = ctx.broker.topics_by_id.get(topic.topic_id)
            return record.name if record is not None else None

        if follower:
            cluster_ok = self._cluster(ctx, Op.CLUSTER_ACTION)
            allowed_topic = lambda name: cluster_ok  # noqa: E731
        else:
            names = [n for n in (name_of(t) for t in request.topics) if n is not None]
            allowed = self._allowed(ctx, Op.READ, Res.TOPIC, names)
            allowed_topic = lambda name: name is None or name in allowed  # noqa: E731  unknown ids: the handler answers
        denied = [t for t in request.topics if not allowed_topic(name_of(t))]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(
            request, topics=tuple(t for t in request.topics if allowed_topic(name_of(t)))
        )
        data = as_dict(await handler(ctx, kept))
        entries = []  # empty records, never null: Kafka sends MemoryRecords.EMPTY and librdkafka needs it
        for t in denied:
            entry: dict[str, Any] = {
                "partitions": [
                    {"partition_index": p.partition, "error_code": TOPIC_DENIED, "high_watermark": -1,
                     "last_stable_offset": -1, "log_start_offset": -1,
                     "aborted_transactions": [] if getattr(request, "isolation_level", 0) == 1 else None,
                     "preferred_read_replica": -1, "records": b""}
                    for p in t.partitions
                ]
            }  # fmt: skip
            if by_id:
                entry["topic_id"] = t.topic_id
            else:
                entry["topic"] = t.topic
            entries.append(entry)
        data["responses"] = list(data["responses"]) + entries
        return data

    async def _list_offsets(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.DESCRIBE, Res.TOPIC, [t.name for t in request.topics])
        return await self._answer_allowed_topics(ctx, request, handler, allowed, lambda t: partition_errors(
            t, TOPIC_DENIED, timestamp=-1, offset=-1, leader_epoch=-1, old_style_offsets=[]))  # fmt: skip

    async def _offset_for_leader_epoch(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if self._cluster(ctx, Op.CLUSTER_ACTION, log_denied=False):
            return await handler(ctx, request)
        allowed = self._allowed(ctx, Op.DESCRIBE, Res.TOPIC, [t.topic for t in request.topics])

        def denied_entry(t: Any) -> dict[str, Any]:
            return {
                "topic": t.topic,
                "partitions": [
                    {
                        "error_code": TOPIC_DENIED,
                        "partition": p.partition,
                        "leader_epoch": -1,
                        "end_offset": -1,
                    }
                    for p in t.partitions
                ],
            }

        return await self._answer_allowed_topics(ctx, request, handler, allowed, denied_entry, name="topic")

    # --- Metadata --------------------------------------------------------------------------------
    async def _metadata(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        broker = ctx.broker
        requested = request.topics
        all_topics = requested is None or (ctx.version == 0 and requested == ())
        errors: list[dict[str, Any]] = []
        if all_topics:
            data = as_dict(await handler(ctx, request))
            data["topics"] = [
                t
                for t in data["topics"]
                if ctx.authorize(Op.DESCRIBE, Res.TOPIC, t["name"], log_denied=False)
            ]
        else:
            kept = []
            allow_auto = (
                getattr(request, "allow_auto_topic_creation", True)
                and broker.config.auto_create_topics_enable
            )
            may_create_all = None
            for item in requested:
                name = item.name
                topic_id = getattr(item, "topic_id", None)
                by_id = name is None and topic_id is not None and topic_id.int != 0
                if by_id:
                    record = broker.topics_by_id.get(topic_id)
                    if record is not None and not ctx.authorize(Op.DESCRIBE, Res.TOPIC, record.name):
                        errors.append(_metadata_error(None, topic_id))
                        continue
                    kept.append(item)
                    continue
                if name is None:
                    kept.append(item)
                    continue
                if not ctx.authorize(Op.DESCRIBE, Res.TOPIC, name):
                    errors.append(_metadata_error(name, ZERO_UUID))
                    continue
                if allow_auto and broker.topic(name) is None:
                    if may_create_all is None:
                        may_create_all = self._cluster(ctx, Op.CREATE, log_denied=False)
                    if not may_create_all and not ctx.authorize(Op.CREATE, Res.TOPIC, name):
                        errors.append(_metadata_error(name, ZERO_UUID))
                        continue
                kept.append(item)
            if kept or not errors:
                data = as_dict(await handler(ctx, dataclasses.replace(request, topics=tuple(kept))))
            else:
                data = as_dict(await handler(ctx, dataclasses.replace(request, topics=())))
                data["topics"] = []
            data["topics"] = list(data["topics"]) + errors
        if getattr(request, "include_topic_authorized_operations", False):
            for t in data["topics"]:
                if t.get("error_code", 0) == 0 and t.get("name"):
                    t["topic_authorized_operations"] = self._operations(ctx, Res.TOPIC, t["name"])
        if getattr(request, "include_cluster_authorized_operations", False) and self._cluster(
            ctx, Op.DESCRIBE, log_denied=False
        ):
            data["cluster_authorized_operations"] = self._operations(ctx, Res.CLUSTER, CLUSTER_NAME)
        return data


def _replica_id(request: Any) -> int:
    state = getattr(request, "replica_state", None)
    return int(state.replica_id if state is not None else getattr(request, "replica_id", -1))


def _metadata_error(name: str | None, topic_id: uuid.UUID) -> dict[str, Any]:
    return {"error_code": TOPIC_DENIED, "name": name, "topic_id": topic_id, "is_internal": False, "partitions": [],
            "topic_authorized_operations": NOT_REQUESTED}  # fmt: skip
