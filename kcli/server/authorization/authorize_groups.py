"""The authorization of the group APIs, as KafkaApis checks them: JoinGroup and the rest of
the classic protocol, offsets, FindCoordinator, the KIP-848 heartbeat, describing, listing and
deleting groups.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kcli.server.apis.registry import RequestContext
from kcli.server.authorization.authorization_base import (
    GROUP_DENIED,
    NOT_REQUESTED,
    TOPIC_DENIED,
    TXN_DENIED,
    AuthorizationRules,
    Handler,
    Op,
    Res,
    as_dict,
    error_response,
    partition_errors,
)


class GroupRules(AuthorizationRules):
    """Group membership, offsets and group administration."""

    # --- groups ----------------------------------------------------------------------------------
    async def _group_read(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        """JoinGroup, SyncGroup, Heartbeat, LeaveGroup: READ on the group."""
        if ctx.authorize(Op.READ, Res.GROUP, request.group_id):
            return await handler(ctx, request)
        extra: dict[str, Any] = {}
        if ctx.header.api_key == 11:  # JoinGroup's error answer (JoinGroupRequest.getErrorResponse)
            extra = {
                "generation_id": -1,
                "member_id": "",
                "leader": "",
                "protocol_name": None if ctx.version >= 7 else "",
            }
        return error_response(ctx, GROUP_DENIED, **extra)

    async def _offset_commit(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
            code, allowed = GROUP_DENIED, set()
        else:
            code, allowed = (
                TOPIC_DENIED,
                self._allowed(ctx, Op.READ, Res.TOPIC, [t.name for t in request.topics]),
            )
        return await self._answer_allowed_topics(
            ctx, request, handler, allowed, lambda t: partition_errors(t, code)
        )

    async def _offset_fetch(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if ctx.version >= 8:
            return await self._offset_fetch_groups(ctx, request, handler)
        if not ctx.authorize(Op.DESCRIBE, Res.GROUP, request.group_id):
            data = {"throttle_time": 0, "error_code": GROUP_DENIED, "topics": []}
            if ctx.version < 2:  # v0/v1 carry the error on every requested partition
                data["topics"] = [
                    {
                        "name": t.name,
                        "partitions": [_offset_error(i, GROUP_DENIED) for i in t.partition_indexes],
                    }
                    for t in request.topics or ()
                ]
            return data
        if request.topics is None:
            data = as_dict(await handler(ctx, request))
            data["topics"] = [
                t
                for t in data["topics"]
                if ctx.authorize(Op.DESCRIBE, Res.TOPIC, t["name"], log_denied=False)
            ]
            return data
        allowed = self._allowed(ctx, Op.DESCRIBE, Res.TOPIC, [t.name for t in request.topics])
        denied = [t for t in request.topics if t.name not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(request, topics=tuple(t for t in request.topics if t.name in allowed))
        data = as_dict(await handler(ctx, kept))
        data["topics"] = list(data["topics"]) + [
            {"name": t.name, "partitions": [_offset_error(i, TOPIC_DENIED) for i in t.partition_indexes]}
            for t in denied
        ]
        return data

    async def _offset_fetch_groups(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        groups_out: list[dict[str, Any]] = []
        kept_groups = []
        denied_topics: dict[str, list[Any]] = {}
        for group in request.groups:
            if not ctx.authorize(Op.DESCRIBE, Res.GROUP, group.group_id):
                groups_out.append({"group_id": group.group_id, "topics": [], "error_code": GROUP_DENIED})
                continue
            if group.topics is None:
                kept_groups.append(group)
                continue
            allowed = self._allowed(ctx, Op.DESCRIBE, Res.TOPIC, [t.name for t in group.topics])
            denied_topics[group.group_id] = [t for t in group.topics if t.name not in allowed]
            kept_groups.append(
                dataclasses.replace(group, topics=tuple(t for t in group.topics if t.name in allowed))
            )
        if kept_groups:
            data = as_dict(await handler(ctx, dataclasses.replace(request, groups=tuple(kept_groups))))
            for g in data["groups"]:
                g = g if isinstance(g, dict) else as_dict(g)
                g["topics"] = [
                    t
                    for t in g["topics"]
                    if ctx.authorize(Op.DESCRIBE, Res.TOPIC, t["name"], log_denied=False)
                ]
                g["topics"] += [
                    {
                        "name": t.name,
                        "partitions": [_offset_error(i, TOPIC_DENIED) for i in t.partition_indexes],
                    }
                    for t in denied_topics.get(g["group_id"], [])
                ]
                groups_out.append(g)
        else:
            data = {"throttle_time": 0}
        data["groups"] = groups_out
        return data

    async def _find_coordinator(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        kind, code = (
            (Res.GROUP, GROUP_DENIED) if request.key_type == 0 else (Res.TRANSACTIONAL_ID, TXN_DENIED)
        )
        if ctx.version < 4:
            if ctx.authorize(Op.DESCRIBE, kind, request.key):
                return await handler(ctx, request)
            return error_response(ctx, code, node_id=-1, host="", port=-1)
        keys = list(request.coordinator_keys)
        allowed = self._allowed(ctx, Op.DESCRIBE, kind, keys)
        denied = [k for k in keys if k not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(request, coordinator_keys=tuple(k for k in keys if k in allowed))
        data = (
            as_dict(await handler(ctx, kept))
            if kept.coordinator_keys
            else {"throttle_time": 0, "coordinators": []}
        )
        data["coordinators"] = list(data["coordinators"]) + [
            {"key": k, "node_id": -1, "host": "", "port": -1, "error_code": code, "error_message": None}
            for k in denied
        ]
        return data

    async def _consumer_group_heartbeat(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        """KIP-848's heartbeat: READ on the group (GROUP_AUTHORIZATION_FAILED in the answer)."""
        if ctx.authorize(Op.READ, Res.GROUP, request.group_id):
            return await handler(ctx, request)
        return error_response(ctx, GROUP_DENIED, member_epoch=-1, heartbeat_interval=0, assignment=None)

    async def _consumer_group_describe(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.DESCRIBE, Res.GROUP, list(request.group_ids))
        denied = [g for g in request.group_ids if g not in allowed]
        kept = dataclasses.replace(request, group_ids=tuple(g for g in request.group_ids if g in allowed))
        data = as_dict(await handler(ctx, kept)) if kept.group_ids else {"throttle_time": 0, "groups": []}
        if getattr(request, "include_authorized_operations", False):
            for g in data["groups"]:
                if isinstance(g, dict) and g.get("error_code", 0) == 0:
                    g["authorized_operations"] = self._operations(ctx, Res.GROUP, g["group_id"])
        data["groups"] = list(data["groups"]) + [
            {"error_code": GROUP_DENIED, "error_message": None, "group_id": g, "group_state": "", "group_epoch": 0,
             "assignment_epoch": 0, "assignor_name": "", "members": [], "authorized_operations": NOT_REQUESTED}
            for g in denied
        ]  # fmt: skip
        return data

    async def _describe_groups(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.DESCRIBE, Res.GROUP, list(request.groups))
        denied = [g for g in request.groups if g not in allowed]
        kept = dataclasses.replace(request, groups=tuple(g for g in request.groups if g in allowed))
        data = as_dict(await handler(ctx, kept)) if kept.groups else {"throttle_time": 0, "groups": []}
        if getattr(request, "include_authorized_operations", False):
            for g in data["groups"]:
                if isinstance(g, dict) and g.get("error_code", 0) == 0:
                    g["authorized_operations"] = self._operations(ctx, Res.GROUP, g["group_id"])
        data["groups"] = list(data["groups"]) + [
            {"error_code": GROUP_DENIED, "group_id": g, "group_state": "", "protocol_type": "", "protocol_data": "",
             "members": [], "authorized_operations": NOT_REQUESTED}
            for g in denied
        ]  # fmt: skip
        return data

    async def _list_groups(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        data = as_dict(await handler(ctx, request))
        if not self._cluster(ctx, Op.DESCRIBE, log_denied=False):
            data["groups"] = [
                g
                for g in data["groups"]
                if ctx.authorize(Op.DESCRIBE, Res.GROUP, g["group_id"], log_denied=False)
            ]
        return data

    async def _delete_groups(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.DELETE, Res.GROUP, list(request.groups_names))
        denied = [g for g in request.groups_names if g not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(
            request, groups_names=tuple(g for g in request.groups_names if g in allowed)
        )
        data = as_dict(await handler(ctx, kept)) if kept.groups_names else {"throttle_time": 0, "results": []}
        data["results"] = list(data["results"]) + [
            {"group_id": g, "error_code": GROUP_DENIED} for g in denied
        ]
        return data

    async def _offset_delete(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if not ctx.authorize(Op.DELETE, Res.GROUP, request.group_id):
            return {"error_code": GROUP_DENIED, "throttle_time": 0, "topics": []}
        allowed = self._allowed(ctx, Op.READ, Res.TOPIC, [t.name for t in request.topics])
        return await self._answer_allowed_topics(
            ctx,
            request,
            handler,
            allowed,
            lambda t: partition_errors(t, TOPIC_DENIED),
            empty={"error_code": 0, "throttle_time": 0, "topics": []},
        )


def _offset_error(partition: int, code: int) -> dict[str, Any]:
    return {
        "partition_index": partition,
        "committed_offset": -1,
        "committed_leader_epoch": -1,
        "metadata": "",
        "error_code": code,
    }
