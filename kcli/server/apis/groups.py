"""Group membership APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
ListGroups, DescribeGroups, DeleteGroups.

The handlers only translate between the wire versions and :mod:`kcli.server.coordinator`: the
state machine is there. FindCoordinator for transactional ids (key type 1) is answered by
:func:`kcli.server.apis.coordinators.find_transaction_coordinator`.
"""

from __future__ import annotations

from typing import Any

from kcli.server.apis import consumer_groups as kip848
from kcli.server.apis.coordinators import (
    client_host,
    coordinator,
    coordinator_for,
    find_transaction_coordinator,
    millis,
)
from kcli.server.apis.registry import RequestContext, api
from kcli.server.coordinator import errors as E
from kcli.server.coordinator.group_requests import JoinRequest, join_error, sync_result

KEY_TYPE_GROUP = 0
KEY_TYPE_TRANSACTION = 1


# --- FindCoordinator ------------------------------------------------------------------------------


async def _find(ctx: RequestContext, key: str, key_type: int) -> dict[str, Any]:
    result = {"key": key, "node_id": -1, "host": "", "port": -1, "error_code": E.NONE, "error_message": None}
    coord = coordinator(ctx)
    if key_type == KEY_TYPE_TRANSACTION:
        code, node = await find_transaction_coordinator(ctx.broker, key, ctx.listener)
        if node is None:
            result.update(error_code=code, error_message="The coordinator is not available.")
        else:
            result.update(node_id=node.node_id, host=node.host, port=node.port)
    elif key_type != KEY_TYPE_GROUP:
        result["error_code"] = E.COORDINATOR_NOT_AVAILABLE
        result["error_message"] = "The coordinator is not available."
    elif key_type == KEY_TYPE_GROUP and not key:
        result["error_code"] = E.INVALID_REQUEST
        result["error_message"] = "Group id must not be empty."
    elif coord is None or not await coord.ensure_offsets_topic():
        result["error_code"] = E.COORDINATOR_NOT_AVAILABLE
        result["error_message"] = "The coordinator is not available."
    else:
        node = (
            coord.coordinator_node(key, ctx.listener)
            if coord.clustered
            else ctx.broker.live_brokers(ctx.listener)[0]
        )
        if node is None:
            result["error_code"] = E.COORDINATOR_NOT_AVAILABLE
            result["error_message"] = "The coordinator is not available."
        else:
            result.update(node_id=node.node_id, host=node.host, port=node.port)
    return result


@api(10, "FindCoordinator", 0, 6)
async def find_coordinator(ctx: RequestContext, request: Any) -> dict:
    key_type = getattr(request, "key_type", KEY_TYPE_GROUP)
    if ctx.version >= 4:
        return {
            "throttle_time": 0,
            "coordinators": [await _find(ctx, k, key_type) for k in request.coordinator_keys],
        }
    single = await _find(ctx, request.key, key_type)
    single.pop("key")
    single["throttle_time"] = 0
    return single


# --- JoinGroup / SyncGroup / Heartbeat / LeaveGroup -------------------------------------------------


def _join_reply(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data, throttle_time=0)
    if ctx.version < 7 and data.get("protocol_name") is None:
        data["protocol_name"] = ""  # a non-nullable string before version 7
    return data


@api(11, "JoinGroup", 0, 9)
async def join_group(ctx: RequestContext, request: Any) -> dict:
    coord, unavailable = coordinator_for(ctx, request.group_id)
    if coord is None:
        return _join_reply(ctx, join_error(request.member_id, unavailable))
    session = millis(request.session_timeout)
    rebalance = getattr(request, "rebalance_timeout", None)
    req = JoinRequest(
        group_id=request.group_id,
        member_id=request.member_id,
        group_instance_id=getattr(request, "group_instance_id", None),
        client_id=ctx.client_id,
        client_host=client_host(ctx),
        session_timeout_ms=session,
        rebalance_timeout_ms=session if rebalance is None else millis(rebalance),
        protocol_type=request.protocol_type,
        protocols=[(p.name, p.metadata) for p in request.protocols],
        require_known_member_id=ctx.version >= 4,
        supports_skip_assignment=ctx.version >= 9,
    )
    routed = await kip848.join(ctx, req)  # a KIP-848 consumer group serves classic members too
    return _join_reply(ctx, routed if routed is not None else await coord.join_group(req))


@api(14, "SyncGroup", 0, 5)
async def sync_group(ctx: RequestContext, request: Any) -> dict:
    coord, unavailable = coordinator_for(ctx, request.group_id)
    if coord is None:
        return dict(sync_result(unavailable), throttle_time=0)
    if (consumer := kip848.routed_to_consumer_group(ctx, request.group_id)) is not None:
        result = await consumer.classic_members.sync(
            request.group_id,
            request.generation_id,
            request.member_id,
            getattr(request, "group_instance_id", None),
            getattr(request, "protocol_type", None),
            getattr(request, "protocol_name", None),
        )
        return dict(result, throttle_time=0)
    result = await coord.sync_group(
        request.group_id,
        request.generation_id,
        request.member_id,
        getattr(request, "group_instance_id", None),
        getattr(request, "protocol_type", None),
        getattr(request, "protocol_name", None),
        [(a.member_id, a.assignment) for a in request.assignments],
    )
    return dict(result, throttle_time=0)


@api(12, "Heartbeat", 0, 4)
async def heartbeat(ctx: RequestContext, request: Any) -> dict:
    coord, unavailable = coordinator_for(ctx, request.group_id)
    if coord is None:
        return {"throttle_time": 0, "error_code": unavailable}
    consumer = kip848.routed_to_consumer_group(ctx, request.group_id)
    code = (consumer.classic_members if consumer is not None else coord).heartbeat(
        request.group_id,
        request.generation_id,
        request.member_id,
        getattr(request, "group_instance_id", None),
    )
    return {"throttle_time": 0, "error_code": code}


@api(13, "LeaveGroup", 0, 5)
async def leave_group(ctx: RequestContext, request: Any) -> dict:
    coord, unavailable = coordinator_for(ctx, request.group_id)
    if ctx.version >= 3:
        identities = [(m.member_id, m.group_instance_id) for m in request.members]
    else:
        identities = [(request.member_id, None)]
    if coord is None:
        top, results = unavailable, [(m, i, unavailable) for m, i in identities]
    elif (consumer := kip848.routed_to_consumer_group(ctx, request.group_id)) is not None:
        top, results = await consumer.classic_members.leave(request.group_id, identities)
    else:
        top, results = coord.leave_group(request.group_id, identities)
    if ctx.version < 3:
        return {"throttle_time": 0, "error_code": top or results[0][2]}
    return {
        "throttle_time": 0,
        "error_code": top if top in (E.COORDINATOR_NOT_AVAILABLE, E.NOT_COORDINATOR) else E.NONE,
        "members": [{"member_id": m, "group_instance_id": i, "error_code": code} for m, i, code in results],
    }


# --- ListGroups / DescribeGroups / DeleteGroups ---------------------------------------------------


@api(16, "ListGroups", 0, 5)
async def list_groups(ctx: RequestContext, request: Any) -> dict:
    coord = coordinator(ctx)
    if coord is None:
        return {"throttle_time": 0, "error_code": E.COORDINATOR_NOT_AVAILABLE, "groups": []}
    groups = coord.list_groups(getattr(request, "states_filter", ()), getattr(request, "types_filter", ()))
    groups = [g for g in groups if coord.owns(g["group_id"])]  # each broker lists the groups it coordinates
    groups = kip848.list_groups(
        ctx, groups, getattr(request, "states_filter", ()), getattr(request, "types_filter", ())
    )
    return {"throttle_time": 0, "error_code": E.NONE, "groups": groups}


def _missing_group(ctx: RequestContext, group_id: str, code: int = E.NONE) -> dict[str, Any]:
    """Versions before 6 describe an unknown group as Dead; v6+ says GROUP_ID_NOT_FOUND (KIP-1043)."""
    found = ctx.version >= 6 and not code
    return {
        "error_code": code or (E.GROUP_ID_NOT_FOUND if found else E.NONE),
        "error_message": f"Group {group_id} not found." if found else None,
        "group_id": group_id,
        "group_state": "Dead",
        "protocol_type": "",
        "protocol_data": "",
        "members": [],
        "authorized_operations": -2147483648,
    }


@api(15, "DescribeGroups", 0, 6)
async def describe_groups(ctx: RequestContext, request: Any) -> dict:
    described = []
    for group_id in request.groups:
        coord, unavailable = coordinator_for(ctx, group_id)
        summary = coord.describe_group(group_id) if coord is not None else None
        if coord is not None and (consumer_group := kip848.not_classic(ctx, group_id)) is not None:
            summary = consumer_group
        described.append(summary if summary is not None else _missing_group(ctx, group_id, unavailable))
    return {"throttle_time": 0, "groups": described}


@api(42, "DeleteGroups", 0, 2)
async def delete_groups(ctx: RequestContext, request: Any) -> dict:
    results: dict[str, int] = {}
    for group_id in request.groups_names:
        coord, unavailable = coordinator_for(ctx, group_id)
        consumer_code = None if coord is None else await kip848.delete_group(ctx, group_id)
        if consumer_code is not None:
            results[group_id] = consumer_code
            continue
        results.update({group_id: unavailable} if coord is None else await coord.delete_groups([group_id]))
    return {
        "throttle_time": 0,
        "results": [{"group_id": g, "error_code": results[g]} for g in request.groups_names],
    }
