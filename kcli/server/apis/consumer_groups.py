"""KIP-848 consumer groups on the wire: ConsumerGroupHeartbeat and ConsumerGroupDescribe, and the
hooks by which the classic group APIs (JoinGroup..., ListGroups, DescribeGroups, DeleteGroups,
OffsetCommit/OffsetFetch/OffsetDelete) reach a group that is a consumer group.

Only translation lives here; the protocol is :mod:`kcli.server.coordinator.consumer_coordinator`.
Both APIs are advertised only while ``group.coordinator.rebalance.protocols`` lists ``consumer``
(Kafka's default), as Kafka's ApiVersions does.
"""

from __future__ import annotations

import uuid
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.coordinators import (
    client_host,
    consumer_groups,
    coordinator_for,
    millis,
    routed_to_consumer_group,
)
from kcli.server.apis.registry import RequestContext, api
from kcli.server.coordinator import errors as E
from kcli.server.coordinator.consumer_coordinator import ConsumerGroupCoordinator, HeartbeatRequest


def enabled(broker: Any) -> bool:
    """Whether this broker serves the consumer protocol (for ApiVersions)."""
    consumer = getattr(broker.coordinator, "consumer", None)
    return consumer is not None and consumer.config.consumer_protocol_enabled


# --- ConsumerGroupHeartbeat -----------------------------------------------------------------------


def _owned(request: Any) -> list[tuple[uuid.UUID, list[int]]] | None:
    if request.topic_partitions is None:
        return None
    return [(tp.topic_id, [int(p) for p in tp.partitions]) for tp in request.topic_partitions]


@api(68, "ConsumerGroupHeartbeat", 0, 1, enabled=enabled)
async def consumer_group_heartbeat(ctx: RequestContext, request: Any) -> dict:
    consumer = consumer_groups(ctx)
    if consumer is None or not consumer.config.consumer_protocol_enabled:
        return ConsumerGroupCoordinator.error_response(
            ErrorCode.unsupported_version, "The consumer group protocol is not enabled on this broker."
        )
    _, unavailable = coordinator_for(ctx, request.group_id)
    if unavailable:
        return ConsumerGroupCoordinator.error_response(unavailable)
    rebalance = millis(request.rebalance_timeout)
    req = HeartbeatRequest(
        group_id=request.group_id,
        member_id=request.member_id,
        member_epoch=request.member_epoch,
        instance_id=request.instance_id,
        rack_id=request.rack_id,
        rebalance_timeout_ms=rebalance,
        topic_names=None if request.subscribed_topic_names is None else tuple(request.subscribed_topic_names),
        topic_regex=getattr(request, "subscribed_topic_regex", None),
        server_assignor=request.server_assignor,
        owned=_owned(request),
        client_id=ctx.client_id,
        client_host=client_host(ctx),
        version=ctx.version,
    )
    return await consumer.heartbeat(req)


# --- ConsumerGroupDescribe ------------------------------------------------------------------------


@api(69, "ConsumerGroupDescribe", 0, 1, enabled=enabled)
async def consumer_group_describe(ctx: RequestContext, request: Any) -> dict:
    consumer = consumer_groups(ctx)
    described = []
    for group_id in request.group_ids:
        classic, unavailable = coordinator_for(ctx, group_id)
        if consumer is None or not consumer.config.consumer_protocol_enabled:
            unavailable = ErrorCode.unsupported_version
        if unavailable:
            answer = _describe_error(group_id, unavailable, None)
        elif not group_id:
            answer = _describe_error(group_id, ErrorCode.invalid_group_id, None)
        else:
            assert consumer is not None and classic is not None
            answer = consumer.describe(group_id)
            known = classic.groups.get(group_id)
            if answer["error_code"] and known is not None and known.members:
                answer["error_message"] = f"Group {group_id} is not a consumer group."
        described.append(answer)
    return {"throttle_time": 0, "groups": described}


def _describe_error(group_id: str, code: int, message: str | None) -> dict[str, Any]:
    return {
        "error_code": code,
        "error_message": message,
        "group_id": group_id,
        "group_state": "",
        "group_epoch": 0,
        "assignment_epoch": 0,
        "assignor_name": "",
        "members": [],
        "authorized_operations": -2147483648,
    }


# --- hooks for the classic group APIs -------------------------------------------------------------


async def join(ctx: RequestContext, req: Any) -> dict[str, Any] | None:
    """A classic JoinGroup for a consumer group: answered here (None: the classic coordinator
    answers; an empty consumer group is first turned into a classic one)."""
    consumer = routed_to_consumer_group(ctx, req.group_id)
    if consumer is None:
        return None
    group = consumer.get(req.group_id)
    if group is not None and not group.members:
        consumer.migration.delete_empty(req.group_id)
        return None
    return await consumer.classic_members.join(req)


def list_groups(
    ctx: RequestContext, classic_listing: list[dict[str, Any]], states: Any, types: Any
) -> list[dict]:
    """ListGroups: the classic coordinator's groups (without the offset holders of consumer
    groups) and the consumer groups."""
    consumer = consumer_groups(ctx)
    if consumer is None:
        return classic_listing
    listed = [g for g in classic_listing if not consumer.is_consumer_group(g["group_id"])]
    listed += [
        g for g in consumer.list_groups(states or (), types or ()) if consumer.classic.owns(g["group_id"])
    ]
    return listed


def not_classic(ctx: RequestContext, group_id: str) -> dict[str, Any] | None:
    """DescribeGroups of a consumer group: v6+ says GROUP_ID_NOT_FOUND ("not a classic group"),
    older versions describe it as Dead, as Kafka 4.x answers."""
    if routed_to_consumer_group(ctx, group_id) is None:
        return None
    v6 = ctx.version >= 6
    return {
        "error_code": E.GROUP_ID_NOT_FOUND if v6 else E.NONE,
        "error_message": f"Group {group_id} is not a classic group." if v6 else None,
        "group_id": group_id,
        "group_state": "Dead",
        "protocol_type": "",
        "protocol_data": "",
        "members": [],
        "authorized_operations": -2147483648,
    }


async def delete_group(ctx: RequestContext, group_id: str) -> int | None:
    """DeleteGroups of a consumer group (None: not one). Its offsets go with the classic
    coordinator's holder of them."""
    consumer = routed_to_consumer_group(ctx, group_id)
    if consumer is None:
        return None
    result = consumer.delete_group(group_id)
    code = result if isinstance(result, int) else await result
    if code:
        return code
    classic = consumer.classic
    if group_id in classic.groups:
        classic_code = (await classic.delete_groups([group_id])).get(group_id, E.NONE)
        if classic_code not in (E.NONE, E.GROUP_ID_NOT_FOUND):
            return classic_code
    return E.NONE


def validate_commit(ctx: RequestContext, group_id: str, member_id: str, epoch: int) -> int | None:
    """OffsetCommit to a consumer group: Kafka's member-epoch fencing (None: not a consumer group)."""
    consumer = routed_to_consumer_group(ctx, group_id)
    if consumer is None:
        return None
    return consumer.validate_commit(group_id, member_id, epoch, ctx.version)


def validate_fetch(ctx: RequestContext, group: Any) -> int | None:
    """OffsetFetch v9+ naming a member of a consumer group: its epoch must be current."""
    consumer = routed_to_consumer_group(ctx, group.group_id)
    if consumer is None or ctx.version < 9:
        return None
    code = consumer.validate_fetch(group.group_id, group.member_id, group.member_epoch)
    return code or None


def subscribed_topics(ctx: RequestContext, group_id: str) -> set[str] | None:
    consumer = routed_to_consumer_group(ctx, group_id)
    return None if consumer is None else consumer.subscribed_topics(group_id)
