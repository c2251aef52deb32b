"""Committed offsets: OffsetCommit, OffsetFetch (single and multi-group forms), OffsetDelete.

Version 10 of OffsetCommit/OffsetFetch names topics by id instead of name; the handlers map ids
to names here so the coordinator only ever sees names (the keys Kafka stores).
"""

from __future__ import annotations

import uuid
from typing import Any

from kcli.server.apis import consumer_groups as kip848
from kcli.server.apis.coordinators import coordinator_for
from kcli.server.apis.registry import RequestContext, api
from kcli.server.coordinator import errors as E
from kcli.server.coordinator.group_requests import CommitEntry


def _partition_exists(ctx: RequestContext, topic: str, partition: int) -> bool:
    """Whether the cluster has the partition (its log may well live on other brokers)."""
    record = ctx.broker.topic(topic)
    return record is not None and 0 <= partition < record.partitions


def _topic_name(ctx: RequestContext, topic: Any) -> str | None:
    """The topic's name, from ``name`` or (v10) ``topic_id``; None when the id is unknown."""
    if hasattr(topic, "topic_id"):
        record = ctx.broker.topics_by_id.get(topic.topic_id)
        return record.name if record is not None else None
    return topic.name


def _topic_key(ctx: RequestContext, name: str | None, topic_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The response's topic identification: both keys, the codec keeps the one the version has."""
    if topic_id is None and name is not None:
        record = ctx.broker.topic(name)
        topic_id = record.topic_id if record is not None else uuid.UUID(int=0)
    return {"name": name or "", "topic_id": topic_id or uuid.UUID(int=0)}


# --- OffsetCommit ---------------------------------------------------------------------------------


@api(8, "OffsetCommit", 2, 10)
async def offset_commit(ctx: RequestContext, request: Any) -> dict:
    coord, unavailable = coordinator_for(ctx, request.group_id)
    entries: list[CommitEntry] = []
    unknown_ids: list[tuple[Any, list[int]]] = []
    for topic in request.topics:
        name = _topic_name(ctx, topic)
        if name is None:
            unknown_ids.append((topic, [p.partition_index for p in topic.partitions]))
            continue
        for p in topic.partitions:
            entries.append(
                CommitEntry(
                    name,
                    p.partition_index,
                    p.committed_offset,
                    getattr(p, "committed_leader_epoch", -1),
                    p.committed_metadata,
                )
            )

    def exists(topic: str, partition: int) -> bool:
        return _partition_exists(ctx, topic, partition)

    generation = getattr(request, "generation_id_or_member_epoch", -1)
    member_id = getattr(request, "member_id", "")
    fenced = None if coord is None else kip848.validate_commit(ctx, request.group_id, member_id, generation)
    if coord is None or fenced:
        results = {(e.topic, e.partition): fenced or unavailable for e in entries}
    elif fenced is not None:  # a consumer group accepted the member's epoch: commit as its holder
        results = await coord.commit_offsets(request.group_id, -1, "", None, entries, exists)
    else:
        results = await coord.commit_offsets(
            request.group_id,
            generation,
            member_id,
            getattr(request, "group_instance_id", None),
            entries,
            exists,
        )
    topics: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        topics.setdefault(e.topic, []).append(
            {"partition_index": e.partition, "error_code": results[(e.topic, e.partition)]}
        )
    response = [dict(_topic_key(ctx, name), partitions=parts) for name, parts in topics.items()]
    for topic, parts in unknown_ids:
        response.append(
            dict(
                _topic_key(ctx, None, topic.topic_id),
                partitions=[{"partition_index": p, "error_code": E.UNKNOWN_TOPIC_ID} for p in parts],
            )
        )
    return {"throttle_time": 0, "topics": response}


# --- OffsetFetch ----------------------------------------------------------------------------------


def _unstable(coord: Any, group_id: str, topic: str, partition: int) -> bool:
    """KIP-447: a partition with offsets committed in a still open transaction."""
    pending = getattr(coord, "txn_offsets", None)
    return pending is not None and pending.has_pending(group_id, topic, partition)


def _fetch_group(
    ctx: RequestContext, group_id: str, topics: Any, require_stable: bool = False
) -> tuple[int, list[dict[str, Any]]]:
    """One group's answer: (group error, topics) with -1 for partitions without a commit; with
    ``require_stable`` a partition whose offset waits for a transaction is UNSTABLE_OFFSET_COMMIT."""
    coord, unavailable = coordinator_for(ctx, group_id)
    if coord is None:
        return unavailable, []
    wanted: list[tuple[str, list[int]]] | None = None
    unknown_ids: list[tuple[uuid.UUID, list[int]]] = []
    if topics is not None:
        wanted = []
        for topic in topics:
            name = _topic_name(ctx, topic)
            if name is None:
                unknown_ids.append((topic.topic_id, list(topic.partition_indexes)))
            else:
                wanted.append((name, list(topic.partition_indexes)))
    code, found = coord.fetch_offsets(group_id, wanted)
    result = []
    for name, parts in found:
        result.append(
            dict(
                _topic_key(ctx, name),
                partitions=[
                    {
                        "partition_index": p,
                        "committed_offset": v.offset if v is not None else -1,
                        "committed_leader_epoch": v.leader_epoch if v is not None else -1,
                        "metadata": v.metadata if v is not None else "",
                        "error_code": E.NONE,
                    }
                    if not (require_stable and _unstable(coord, group_id, name, p))
                    else {
                        "partition_index": p,
                        "committed_offset": -1,
                        "committed_leader_epoch": -1,
                        "metadata": "",
                        "error_code": E.UNSTABLE_OFFSET_COMMIT,
                    }
                    for p, v in parts
                ],
            )
        )
    for topic_id, parts in unknown_ids:
        result.append(
            dict(
                _topic_key(ctx, None, topic_id),
                partitions=[
                    {
                        "partition_index": p,
                        "committed_offset": -1,
                        "committed_leader_epoch": -1,
                        "metadata": "",
                        "error_code": E.UNKNOWN_TOPIC_ID,
                    }
                    for p in parts
                ],
            )
        )
    return code, result


@api(9, "OffsetFetch", 1, 10)
async def offset_fetch(ctx: RequestContext, request: Any) -> dict:
    if ctx.version >= 8:
        groups = []
        for g in request.groups:
            fenced = kip848.validate_fetch(ctx, g)  # v9+: the member epoch of a consumer group
            code, topics = (
                (fenced, [])
                if fenced
                else _fetch_group(ctx, g.group_id, g.topics, bool(getattr(request, "require_stable", False)))
            )
            groups.append({"group_id": g.group_id, "topics": topics, "error_code": code})
        return {"throttle_time": 0, "groups": groups}
    code, topics = _fetch_group(
        ctx, request.group_id, request.topics, bool(getattr(request, "require_stable", False))
    )
    if ctx.version < 2:
        # Version 1 has no group-level error: report it on every partition.
        for topic in topics:
            for part in topic["partitions"]:
                part["error_code"] = part["error_code"] or code
    return {"throttle_time": 0, "topics": topics, "error_code": code}


# --- OffsetDelete ---------------------------------------------------------------------------------


@api(47, "OffsetDelete", 0, 0)
async def offset_delete(ctx: RequestContext, request: Any) -> dict:
    coord, unavailable = coordinator_for(ctx, request.group_id)
    wanted = [(t.name, [p.partition_index for p in t.partitions]) for t in request.topics]
    subscribed = kip848.subscribed_topics(ctx, request.group_id) if coord is not None else None
    if coord is None:
        top, results = unavailable, {}
    elif subscribed:  # a consumer group keeps the offsets of the topics it subscribes to
        kept = [(t, ps) for t, ps in wanted if t not in subscribed]
        top, results = await coord.delete_offsets(request.group_id, kept) if kept else (E.NONE, {})
        if top == E.GROUP_ID_NOT_FOUND:
            top, results = E.NONE, {}
        for t, ps in wanted:
            if t in subscribed:
                results.update({(t, p): E.GROUP_SUBSCRIBED_TO_TOPIC for p in ps})
    else:
        top, results = await coord.delete_offsets(request.group_id, wanted)
    topics = []
    if not top:
        for name, parts in wanted:
            topics.append(
                {
                    "name": name,
                    "partitions": [
                        {
                            "partition_index": p,
                            "error_code": results.get((name, p), E.NONE)
                            if _partition_exists(ctx, name, p)
                            else E.UNKNOWN_TOPIC_OR_PARTITION,
                        }
                        for p in parts
                    ],
                }
            )
    return {"error_code": top, "throttle_time": 0, "topics": topics}
