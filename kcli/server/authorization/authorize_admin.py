"""The authorization of the admin APIs, as KafkaApis checks them: topics, records, producer ids,
configs, log dirs, leader elections, reassignments and the cluster description.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kcli.server.apis.registry import RequestContext
from kcli.server.authorization.authorization_base import (
    CLUSTER_DENIED,
    DENIED_MESSAGES,
    GROUP_DENIED,
    TOPIC_DENIED,
    TXN_DENIED,
    ZERO_UUID,
    AuthorizationRules,
    Handler,
    Op,
    Res,
    as_dict,
    error_response,
    mask_sensitive,
    partition_errors,
)
from kcli.server.security.acls import CLUSTER_NAME, AclOperation


class AdminRules(AuthorizationRules):
    """Topic, config and cluster administration."""

    # --- topics ------------------------------------------------------------------------------------
    async def _create_topics(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        names = [t.name for t in request.topics]
        if self._cluster(ctx, Op.CREATE, log_denied=False):
            allowed = set(names)
        else:
            allowed = self._allowed(ctx, Op.CREATE, Res.TOPIC, names)
        configs_ok = self._allowed(ctx, Op.DESCRIBE_CONFIGS, Res.TOPIC, names, log_denied=False)
        denied = [t for t in request.topics if t.name not in allowed]
        kept = dataclasses.replace(request, topics=tuple(t for t in request.topics if t.name in allowed))
        data = as_dict(await handler(ctx, kept)) if kept.topics else {"throttle_time": 0, "topics": []}
        for t in data["topics"]:
            if isinstance(t, dict) and t["name"] not in configs_ok:
                t["topic_config_error_code"] = TOPIC_DENIED
                t["configs"] = None
        data["topics"] = list(data["topics"]) + [
            {"name": t.name, "topic_id": ZERO_UUID, "error_code": TOPIC_DENIED, "error_message": "Authorization failed.",
             "topic_config_error_code": TOPIC_DENIED, "num_partitions": -1, "replication_factor": -1, "configs": None}
            for t in denied
        ]  # fmt: skip
        return data

    async def _delete_topics(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        broker = ctx.broker
        entries = list(request.topics) if ctx.version >= 6 else [None] * len(request.topic_names)
        names = list(request.topic_names) if ctx.version < 6 else []
        kept, denied = [], []
        for i, item in enumerate(entries):
            if item is None:
                name, topic_id = names[i], ZERO_UUID
            else:
                name, topic_id = item.name, item.topic_id
                if name is None and topic_id is not None and topic_id.int != 0:
                    record = broker.topics_by_id.get(topic_id)
                    if record is None:
                        kept.append(item)  # unknown id: the handler answers UNKNOWN_TOPIC_ID
                        continue
                    if not ctx.authorize(Op.DESCRIBE, Res.TOPIC, record.name):
                        denied.append(
                            {
                                "name": None,
                                "topic_id": topic_id,
                                "error_code": TOPIC_DENIED,
                                "error_message": None,
                            }
                        )
                        continue
                    name = record.name
            if not ctx.authorize(Op.DELETE, Res.TOPIC, name):
                denied.append(
                    {"name": name, "topic_id": topic_id, "error_code": TOPIC_DENIED, "error_message": None}
                )
            else:
                kept.append(item if item is not None else name)
        if not denied:
            return await handler(ctx, request)
        field = "topics" if ctx.version >= 6 else "topic_names"
        narrowed = dataclasses.replace(request, **{field: tuple(kept)})
        data = as_dict(await handler(ctx, narrowed)) if kept else {"throttle_time": 0, "responses": []}
        data["responses"] = list(data["responses"]) + denied
        return data

    async def _create_partitions(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.ALTER, Res.TOPIC, [t.name for t in request.topics])
        return await self._answer_allowed_topics(
            ctx,
            request,
            handler,
            allowed,
            lambda t: {
                "name": t.name,
                "error_code": TOPIC_DENIED,
                "error_message": "The topic authorization is failed.",
            },
            field="results",
        )

    async def _delete_records(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.DELETE, Res.TOPIC, [t.name for t in request.topics])
        return await self._answer_allowed_topics(
            ctx, request, handler, allowed, lambda t: partition_errors(t, TOPIC_DENIED, low_watermark=-1)
        )

    # --- producers, configs, cluster ------------------------------------------------------------
    async def _init_producer_id(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        txn = request.transactional_id
        if txn is not None:
            if not ctx.authorize(Op.WRITE, Res.TRANSACTIONAL_ID, txn):
                return error_response(ctx, TXN_DENIED, producer_id=-1, producer_epoch=-1)
        elif not self._cluster(ctx, Op.IDEMPOTENT_WRITE, log_denied=False):
            assert self.authorizer is not None
            if not self.authorizer.authorize_any(ctx.principal, ctx.client_host, Op.WRITE, Res.TOPIC):
                return error_response(ctx, CLUSTER_DENIED, producer_id=-1, producer_epoch=-1)
        return await handler(ctx, request)

    @staticmethod
    def _config_resource_allowed(ctx: RequestContext, op: AclOperation, resource: Any) -> int:
        """0, or the error code for a config resource (broker 4 / logger 8: cluster, topic 2, group 32)."""
        kind = resource.resource_type
        if kind in (4, 8):
            return 0 if ctx.authorize(op, Res.CLUSTER, CLUSTER_NAME) else CLUSTER_DENIED
        if kind == 2:
            return 0 if ctx.authorize(op, Res.TOPIC, resource.resource_name) else TOPIC_DENIED
        if kind == 32:
            return 0 if ctx.authorize(op, Res.GROUP, resource.resource_name) else GROUP_DENIED
        return 0 if ctx.authorize(op, Res.CLUSTER, CLUSTER_NAME) else CLUSTER_DENIED

    async def _describe_configs(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        codes = [self._config_resource_allowed(ctx, Op.DESCRIBE_CONFIGS, r) for r in request.resources]
        kept = [r for r, c in zip(request.resources, codes, strict=True) if c == 0]
        data = (
            as_dict(await handler(ctx, dataclasses.replace(request, resources=tuple(kept))))
            if kept
            else {"throttle_time": 0, "results": []}
        )
        data = mask_sensitive(data)
        data["results"] = list(data["results"]) + [
            {"error_code": c, "error_message": DENIED_MESSAGES[c], "resource_type": r.resource_type,
             "resource_name": r.resource_name, "configs": []}
            for r, c in zip(request.resources, codes, strict=True) if c
        ]  # fmt: skip
        return data

    async def _alter_configs(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        """AlterConfigs and IncrementalAlterConfigs: ALTER_CONFIGS on each resource."""
        codes = [self._config_resource_allowed(ctx, Op.ALTER_CONFIGS, r) for r in request.resources]
        kept = [r for r, c in zip(request.resources, codes, strict=True) if c == 0]
        data = (
            as_dict(await handler(ctx, dataclasses.replace(request, resources=tuple(kept))))
            if kept
            else {"throttle_time": 0, "responses": []}
        )
        data["responses"] = list(data["responses"]) + [
            {
                "error_code": c,
                "error_message": DENIED_MESSAGES[c],
                "resource_type": r.resource_type,
                "resource_name": r.resource_name,
            }
            for r, c in zip(request.resources, codes, strict=True)
            if c
        ]
        return data

    async def _alter_replica_log_dirs(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        """KafkaApis: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED for every partition."""
        if self._cluster(ctx, Op.ALTER):
            return await handler(ctx, request)
        results: dict[str, list[dict[str, Any]]] = {}
        for d in request.dirs:
            for t in d.topics:
                results.setdefault(t.name, []).extend(
                    {"partition_index": p, "error_code": CLUSTER_DENIED} for p in t.partitions
                )
        return {
            "throttle_time": 0,
            "results": [{"topic_name": n, "partitions": ps} for n, ps in results.items()],
        }

    async def _describe_log_dirs(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if self._cluster(ctx, Op.DESCRIBE):
            return await handler(ctx, request)
        return {"throttle_time": 0, "error_code": CLUSTER_DENIED, "results": []}

    async def _elect_leaders(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if self._cluster(ctx, Op.ALTER):
            return await handler(ctx, request)
        results = [
            {
                "topic": tp.topic,
                "partition_result": [
                    {"partition_id": p, "error_code": CLUSTER_DENIED, "error_message": None}
                    for p in tp.partitions
                ],
            }
            for tp in request.topic_partitions or ()
        ]
        return {"throttle_time": 0, "error_code": CLUSTER_DENIED, "replica_election_results": results}

    async def _alter_reassignments(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        """KafkaApis: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED for the whole request."""
        if self._cluster(ctx, Op.ALTER):
            return await handler(ctx, request)
        return {"throttle_time": 0, "error_code": CLUSTER_DENIED, "error_message": None, "responses": []}

    async def _list_reassignments(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        """KafkaApis: DESCRIBE on the cluster."""
        if self._cluster(ctx, Op.DESCRIBE):
            return await handler(ctx, request)
        return {"throttle_time": 0, "error_code": CLUSTER_DENIED, "error_message": None, "topics": []}

    async def _describe_cluster(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        data = as_dict(await handler(ctx, request))
        if getattr(request, "include_cluster_authorized_operations", False) and self._cluster(
            ctx, Op.DESCRIBE, log_denied=False
        ):
            data["cluster_authorized_operations"] = self._operations(ctx, Res.CLUSTER, CLUSTER_NAME)
        return data
