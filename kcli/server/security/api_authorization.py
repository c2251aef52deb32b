"""Every API's authorization, as Kafka's KafkaApis checks it, around the API handlers.

The handlers stay free of ACL logic: for each API this module asks the authorizer what Kafka asks,
narrows the request to what is allowed, runs the handler, and adds what was denied to the answer
with Kafka's error code in Kafka's place (a whole-request error, or one per topic, partition,
group or resource). Highlights:

* Produce: WRITE on each topic (TOPIC_AUTHORIZATION_FAILED per partition), WRITE on the
  transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); with acks=0 a denial closes the
  connection, as Kafka does, since no answer is expected.
* Fetch: READ on each topic for consumers, CLUSTER_ACTION on the cluster for followers.
* Metadata: topics a principal may not DESCRIBE are left out of "all topics" and answered
  TOPIC_AUTHORIZATION_FAILED when named; auto-creation needs CREATE on the cluster or the topic.
* Groups: READ on the group to join, sync, heartbeat, leave and commit; DESCRIBE to fetch offsets,
  find the coordinator and describe; DELETE to delete; ListGroups lists what may be described.
* Admin: CREATE / DELETE / ALTER on topics, DESCRIBE_CONFIGS / ALTER_CONFIGS on topics, groups and
  the cluster, DESCRIBE / ALTER / CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED).

An API with no rule here is refused to everyone but super users (the connection closes and the
broker logs why): a new API must never be served without its checks. Passwords in broker configs
(``ssl.*password``, ``sasl.jaas.config``, ...) are never returned by DescribeConfigs, authorizer or
not: they come back as sensitive with no value, as Kafka returns PASSWORD configs.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
import types
import typing
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import ApiSpec, RequestContext
from kcli.server.security.acls import CLUSTER_NAME, SUPPORTED_OPERATIONS, AclOperation, ResourceType
from kcli.server.security.authorizer import Authorizer

log = logging.getLogger("kafka.server.KafkaApis")

Op, Res = AclOperation, ResourceType
TOPIC_DENIED = ErrorCode.topic_authorization_failed.value
GROUP_DENIED = ErrorCode.group_authorization_failed.value
CLUSTER_DENIED = ErrorCode.cluster_authorization_failed.value
TXN_DENIED = ErrorCode.transactional_id_authorization_failed.value
_MESSAGES = {
    TOPIC_DENIED: "Topic authorization failed.",
    GROUP_DENIED: "Group authorization failed.",
    CLUSTER_DENIED: "Cluster authorization failed.",
    TXN_DENIED: "Transactional Id authorization failed.",
}
_ZERO_UUID = uuid.UUID(int=0)
_NOT_REQUESTED = -2147483648  # authorized operations not asked for (Kafka's Int.MinValue)
_SENSITIVE_SUFFIXES = (
    "password",
    "sasl.jaas.config",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.certificates",
    "secret",
    "secret.key",
)

Handler = Callable[[RequestContext, Any], Awaitable[Any]]


class CloseConnection(Exception):
    """No answer can carry the error (Produce with acks=0): close the connection instead."""


def is_sensitive(key: str) -> bool:
    return key.endswith(_SENSITIVE_SUFFIXES)


# --- complete error responses for whole-request denials ------------------------------------------
def _default(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return None
    if origin is tuple:
        return []
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            return _defaults(hint)
        if issubclass(hint, bool):
            return False
        if issubclass(hint, int):
            return 0
        if issubclass(hint, str):
            return ""
        if issubclass(hint, bytes):
            return b""
        if issubclass(hint, datetime.timedelta):
            return 0
        if issubclass(hint, uuid.UUID):
            return _ZERO_UUID
        if issubclass(hint, enum.Enum):
            return next(iter(hint))
    return None


def _defaults(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            out[f.name] = f.default_factory()  # type: ignore[misc]
        else:
            out[f.name] = _default(hints[f.name])
    return out


def error_response(ctx: RequestContext, code: int, **fields: Any) -> dict[str, Any]:
    """A whole response of the request's version with ``error_code`` set (Kafka's getErrorResponse)."""
    data = _defaults(ctx.response_cls)
    data["error_code"] = code
    if "error_message" in data:
        data["error_message"] = _MESSAGES.get(code)
    data.update(fields)
    return data


def _as_dict(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        return result
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}


# --- the checks ------------------------------------------------------------------------------
class RequestAuthorization:
    def __init__(self, authorizer: Authorizer | None):
        self.authorizer = authorizer
        self.rules: dict[int, Callable[..., Awaitable[Any]]] = {
            0: self._produce,
            1: self._fetch,
            2: self._list_offsets,
            3: self._metadata,
            8: self._offset_commit,
            9: self._offset_fetch,
            10: self._find_coordinator,
            11: self._group_read,
            12: self._group_read,
            13: self._group_read,
            14: self._group_read,
            15: self._describe_groups,
            16: self._list_groups,
            17: self._open,
            18: self._open,
            19: self._create_topics,
            20: self._delete_topics,
            21: self._delete_records,
            22: self._init_producer_id,
            23: self._offset_for_leader_epoch,
            29: self._open,  # DescribeAcls, CreateAcls, DeleteAcls, the SCRAM APIs: checked in
            30: self._open,  # their own handlers (kcli/server/apis/acls.py, scram_credentials.py)
            31: self._open,
            32: self._describe_configs,
            33: self._alter_configs,
            34: self._alter_replica_log_dirs,
            35: self._describe_log_dirs,
            36: self._open,
            37: self._create_partitions,
            42: self._delete_groups,
            43: self._elect_leaders,
            44: self._alter_configs,
            45: self._alter_reassignments,
            46: self._list_reassignments,
            47: self._offset_delete,
            50: self._open,
            51: self._open,
            55: self._open,  # DescribeQuorum: DESCRIBE on the cluster, checked in kcli/server/apis/quorum.py
            24: self._add_partitions_to_txn,
            25: self._add_offsets_to_txn,
            26: self._end_txn,
            27: self._write_txn_markers,
            28: self._txn_offset_commit,
            60: self._describe_cluster,
            61: self._describe_producers,
            65: self._describe_transactions,
            66: self._list_transactions,
            68: self._consumer_group_heartbeat,
            69: self._consumer_group_describe,
        }

    async def run(self, ctx: RequestContext, request: Any, spec: ApiSpec) -> Any:
        if self.authorizer is None:
            result = await spec.handler(ctx, request)
            return _mask_sensitive(result) if spec.key == 32 else result
        rule = self.rules.get(spec.key)
        if rule is None:
            if str(ctx.principal) in self.authorizer.super_users:
                return await spec.handler(ctx, request)
            raise CloseConnection(
                f"{spec.name} has no authorization rule in kcli: only super users may use it"
            )
        return await rule(ctx, request, spec.handler)

    # --- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _allowed(
        ctx: RequestContext, op: AclOperation, kind: ResourceType, names: list[str], log_denied: bool = True
    ) -> set[str]:
        return {n for n in dict.fromkeys(names) if ctx.authorize(op, kind, n, log_denied)}

    @staticmethod
    def _cluster(ctx: RequestContext, op: AclOperation, log_denied: bool = True) -> bool:
        return ctx.authorize(op, Res.CLUSTER, CLUSTER_NAME, log_denied)

    @staticmethod
    def _operations(ctx: RequestContext, kind: ResourceType, name: str) -> int:
        """Kafka's authorized-operations bit field for one resource."""
        return sum(
            1 << op for op in SUPPORTED_OPERATIONS[kind] if ctx.authorize(op, kind, name, log_denied=False)
        )

    async def _open(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        return await handler(ctx, request)

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
        data = _as_dict(result) if result is not None else {"responses": [], "throttle_time": 0}
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
        data = _as_dict(await handler(ctx, kept))
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
        denied = [t for t in request.topics if t.name not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(request, topics=tuple(t for t in request.topics if t.name in allowed))
        data = _as_dict(await handler(ctx, kept)) if kept.topics else {"throttle_time": 0, "topics": []}
        data["topics"] = list(data["topics"]) + [
            {
                "name": t.name,
                "partitions": [
                    {"partition_index": p.partition_index, "error_code": TOPIC_DENIED, "timestamp": -1, "offset": -1,
                     "leader_epoch": -1, "old_style_offsets": []}
                    for p in t.partitions
                ],
            }
            for t in denied
        ]  # fmt: skip
        return data

    async def _offset_for_leader_epoch(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if self._cluster(ctx, Op.CLUSTER_ACTION, log_denied=False):
            return await handler(ctx, request)
        allowed = self._allowed(ctx, Op.DESCRIBE, Res.TOPIC, [t.topic for t in request.topics])
        denied = [t for t in request.topics if t.topic not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(request, topics=tuple(t for t in request.topics if t.topic in allowed))
        data = _as_dict(await handler(ctx, kept)) if kept.topics else {"throttle_time": 0, "topics": []}
        data["topics"] = list(data["topics"]) + [
            {
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
            for t in denied
        ]
        return data

    # --- Metadata --------------------------------------------------------------------------------
    async def _metadata(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        broker = ctx.broker
        requested = request.topics
        all_topics = requested is None or (ctx.version == 0 and requested == ())
        errors: list[dict[str, Any]] = []
        if all_topics:
            data = _as_dict(await handler(ctx, request))
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
                    errors.append(_metadata_error(name, _ZERO_UUID))
                    continue
                if allow_auto and broker.topic(name) is None:
                    if may_create_all is None:
                        may_create_all = self._cluster(ctx, Op.CREATE, log_denied=False)
                    if not may_create_all and not ctx.authorize(Op.CREATE, Res.TOPIC, name):
                        errors.append(_metadata_error(name, _ZERO_UUID))
                        continue
                kept.append(item)
            if kept or not errors:
                data = _as_dict(await handler(ctx, dataclasses.replace(request, topics=tuple(kept))))
            else:
                data = _as_dict(await handler(ctx, dataclasses.replace(request, topics=())))
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
        denied = [t for t in request.topics if t.name not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(request, topics=tuple(t for t in request.topics if t.name in allowed))
        data = _as_dict(await handler(ctx, kept)) if kept.topics else {"throttle_time": 0, "topics": []}
        data["topics"] = list(data["topics"]) + [
            {
                "name": t.name,
                "partitions": [
                    {"partition_index": p.partition_index, "error_code": code} for p in t.partitions
                ],
            }
            for t in denied
        ]
        return data

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
            data = _as_dict(await handler(ctx, request))
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
        data = _as_dict(await handler(ctx, kept))
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
            data = _as_dict(await handler(ctx, dataclasses.replace(request, groups=tuple(kept_groups))))
            for g in data["groups"]:
                g = g if isinstance(g, dict) else _as_dict(g)
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
            _as_dict(await handler(ctx, kept))
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
        data = _as_dict(await handler(ctx, kept)) if kept.group_ids else {"throttle_time": 0, "groups": []}
        if getattr(request, "include_authorized_operations", False):
            for g in data["groups"]:
                if isinstance(g, dict) and g.get("error_code", 0) == 0:
                    g["authorized_operations"] = self._operations(ctx, Res.GROUP, g["group_id"])
        data["groups"] = list(data["groups"]) + [
            {"error_code": GROUP_DENIED, "error_message": None, "group_id": g, "group_state": "", "group_epoch": 0,
             "assignment_epoch": 0, "assignor_name": "", "members": [], "authorized_operations": _NOT_REQUESTED}
            for g in denied
        ]  # fmt: skip
        return data

    async def _describe_groups(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.DESCRIBE, Res.GROUP, list(request.groups))
        denied = [g for g in request.groups if g not in allowed]
        kept = dataclasses.replace(request, groups=tuple(g for g in request.groups if g in allowed))
        data = _as_dict(await handler(ctx, kept)) if kept.groups else {"throttle_time": 0, "groups": []}
        if getattr(request, "include_authorized_operations", False):
            for g in data["groups"]:
                if isinstance(g, dict) and g.get("error_code", 0) == 0:
                    g["authorized_operations"] = self._operations(ctx, Res.GROUP, g["group_id"])
        data["groups"] = list(data["groups"]) + [
            {"error_code": GROUP_DENIED, "group_id": g, "group_state": "", "protocol_type": "", "protocol_data": "",
             "members": [], "authorized_operations": _NOT_REQUESTED}
            for g in denied
        ]  # fmt: skip
        return data

    async def _list_groups(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        data = _as_dict(await handler(ctx, request))
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
        data = (
            _as_dict(await handler(ctx, kept)) if kept.groups_names else {"throttle_time": 0, "results": []}
        )
        data["results"] = list(data["results"]) + [
            {"group_id": g, "error_code": GROUP_DENIED} for g in denied
        ]
        return data

    async def _offset_delete(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if not ctx.authorize(Op.DELETE, Res.GROUP, request.group_id):
            return {"error_code": GROUP_DENIED, "throttle_time": 0, "topics": []}
        allowed = self._allowed(ctx, Op.READ, Res.TOPIC, [t.name for t in request.topics])
        denied = [t for t in request.topics if t.name not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(request, topics=tuple(t for t in request.topics if t.name in allowed))
        data = (
            _as_dict(await handler(ctx, kept))
            if kept.topics
            else {"error_code": 0, "throttle_time": 0, "topics": []}
        )
        data["topics"] = list(data["topics"]) + [
            {
                "name": t.name,
                "partitions": [
                    {"partition_index": p.partition_index, "error_code": TOPIC_DENIED} for p in t.partitions
                ],
            }
            for t in denied
        ]
        return data

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
        data = _as_dict(await handler(ctx, kept)) if kept.topics else {"throttle_time": 0, "topics": []}
        for t in data["topics"]:
            if isinstance(t, dict) and t["name"] not in configs_ok:
                t["topic_config_error_code"] = TOPIC_DENIED
                t["configs"] = None
        data["topics"] = list(data["topics"]) + [
            {"name": t.name, "topic_id": _ZERO_UUID, "error_code": TOPIC_DENIED, "error_message": "Authorization failed.",
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
                name, topic_id = names[i], _ZERO_UUID
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
        data = _as_dict(await handler(ctx, narrowed)) if kept else {"throttle_time": 0, "responses": []}
        data["responses"] = list(data["responses"]) + denied
        return data

    async def _create_partitions(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.ALTER, Res.TOPIC, [t.name for t in request.topics])
        denied = [t for t in request.topics if t.name not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(request, topics=tuple(t for t in request.topics if t.name in allowed))
        data = _as_dict(await handler(ctx, kept)) if kept.topics else {"throttle_time": 0, "results": []}
        data["results"] = list(data["results"]) + [
            {
                "name": t.name,
                "error_code": TOPIC_DENIED,
                "error_message": "The topic authorization is failed.",
            }
            for t in denied
        ]
        return data

    async def _delete_records(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.DELETE, Res.TOPIC, [t.name for t in request.topics])
        denied = [t for t in request.topics if t.name not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(request, topics=tuple(t for t in request.topics if t.name in allowed))
        data = _as_dict(await handler(ctx, kept)) if kept.topics else {"throttle_time": 0, "topics": []}
        data["topics"] = list(data["topics"]) + [
            {
                "name": t.name,
                "partitions": [
                    {"partition_index": p.partition_index, "low_watermark": -1, "error_code": TOPIC_DENIED}
                    for p in t.partitions
                ],
            }
            for t in denied
        ]
        return data

    # --- transactions (KIP-98), as KafkaApis checks them ---------------------------------------
    async def _add_partitions_to_txn(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if ctx.version >= 4:  # brokers verifying a transaction (KIP-890): CLUSTER_ACTION
            if self._cluster(ctx, Op.CLUSTER_ACTION):
                return await handler(ctx, request)
            return {"throttle_time": 0, "error_code": CLUSTER_DENIED, "results_by_transaction": []}
        txn, topics = request.v3_and_below_transactional_id, request.v3_and_below_topics

        def result(codes: dict[str, int], default: int | None = None) -> dict[str, Any]:
            return {"throttle_time": 0, "results_by_topic_v3_and_below": [
                {"name": t.name, "results_by_partition": [
                    {"partition_index": p, "partition_error_code": codes.get(t.name, default)} for p in t.partitions]}
                for t in topics]}  # fmt: skip

        if not ctx.authorize(Op.WRITE, Res.TRANSACTIONAL_ID, txn):
            return result({}, TXN_DENIED)
        # internal topics are never authorised here (Kafka leaves them out of the WRITE check)
        names = [t.name for t in topics if not t.name.startswith("__")]
        allowed = self._allowed(ctx, Op.WRITE, Res.TOPIC, names)
        denied = {t.name for t in topics if t.name not in allowed}
        if not denied:
            return await handler(ctx, request)
        codes = {
            t.name: TOPIC_DENIED
            if t.name in denied
            else (
                ErrorCode.unknown_topic_or_partition.value
                if ctx.broker.topic(t.name) is None
                else ErrorCode.operation_not_attempted.value
            )
            for t in topics
        }
        return result(codes)

    async def _add_offsets_to_txn(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if not ctx.authorize(Op.WRITE, Res.TRANSACTIONAL_ID, request.transactional_id):
            return {"throttle_time": 0, "error_code": TXN_DENIED}
        if not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
            return {"throttle_time": 0, "error_code": GROUP_DENIED}
        return await handler(ctx, request)

    async def _end_txn(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if ctx.authorize(Op.WRITE, Res.TRANSACTIONAL_ID, request.transactional_id):
            return await handler(ctx, request)
        return {"throttle_time": 0, "error_code": TXN_DENIED}

    async def _write_txn_markers(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        if self._cluster(ctx, Op.ALTER, log_denied=False) or self._cluster(ctx, Op.CLUSTER_ACTION):
            return await handler(ctx, request)
        return {"markers": [
            {"producer_id": m.producer_id, "topics": [
                {"name": t.name, "partitions": [{"partition_index": p, "error_code": CLUSTER_DENIED} for p in t.partition_indexes]}
                for t in m.topics]}
            for m in request.markers]}  # fmt: skip

    async def _txn_offset_commit(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        whole = None
        if not ctx.authorize(Op.WRITE, Res.TRANSACTIONAL_ID, request.transactional_id):
            whole = TXN_DENIED
        elif not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
            whole = GROUP_DENIED
        allowed = set() if whole else self._allowed(ctx, Op.READ, Res.TOPIC, [t.name for t in request.topics])
        denied = [t for t in request.topics if t.name not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(request, topics=tuple(t for t in request.topics if t.name in allowed))
        data = _as_dict(await handler(ctx, kept)) if kept.topics else {"throttle_time": 0, "topics": []}
        code = whole or TOPIC_DENIED
        data["topics"] = list(data["topics"]) + [
            {
                "name": t.name,
                "partitions": [
                    {"partition_index": p.partition_index, "error_code": code} for p in t.partitions
                ],
            }
            for t in denied
        ]
        return data

    async def _describe_producers(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        allowed = self._allowed(ctx, Op.READ, Res.TOPIC, [t.name for t in request.topics])
        denied = [t for t in request.topics if t.name not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(request, topics=tuple(t for t in request.topics if t.name in allowed))
        data = _as_dict(await handler(ctx, kept)) if kept.topics else {"throttle_time": 0, "topics": []}
        data["topics"] = list(data["topics"]) + [
            {"name": t.name, "partitions": [
                {"partition_index": p, "error_code": TOPIC_DENIED, "error_message": None, "active_producers": []}
                for p in t.partition_indexes]}
            for t in denied
        ]  # fmt: skip
        return data

    async def _describe_transactions(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        ids = list(request.transactional_ids)
        allowed = self._allowed(ctx, Op.DESCRIBE, Res.TRANSACTIONAL_ID, ids)
        kept = dataclasses.replace(request, transactional_ids=tuple(i for i in ids if i in allowed))
        data = (
            _as_dict(await handler(ctx, kept))
            if kept.transactional_ids
            else {"throttle_time": 0, "transaction_states": []}
        )
        for state in data["transaction_states"]:  # only the partitions of topics it may describe
            if isinstance(state, dict):
                state["topics"] = [
                    t for t in state.get("topics") or []
                    if ctx.authorize(Op.DESCRIBE, Res.TOPIC, t["topic"] if isinstance(t, dict) else t.topic)
                ]  # fmt: skip
        data["transaction_states"] = list(data["transaction_states"]) + [
            {"error_code": TXN_DENIED, "transactional_id": i, "transaction_state": "", "transaction_timeout": 0,
             "transaction_start_time": datetime.datetime.fromtimestamp(-0.001, tz=datetime.UTC),
             "producer_id": -1, "producer_epoch": -1, "topics": []}
            for i in ids if i not in allowed
        ]  # fmt: skip
        return data

    async def _list_transactions(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        data = _as_dict(await handler(ctx, request))
        data["transaction_states"] = [
            s for s in data["transaction_states"]
            if ctx.authorize(Op.DESCRIBE, Res.TRANSACTIONAL_ID, s["transactional_id"] if isinstance(s, dict) else s.transactional_id, log_denied=False)
        ]  # fmt: skip
        return data

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
            _as_dict(await handler(ctx, dataclasses.replace(request, resources=tuple(kept))))
            if kept
            else {"throttle_time": 0, "results": []}
        )
        data = _mask_sensitive(data)
        data["results"] = list(data["results"]) + [
            {"error_code": c, "error_message": _MESSAGES[c], "resource_type": r.resource_type,
             "resource_name": r.resource_name, "configs": []}
            for r, c in zip(request.resources, codes, strict=True) if c
        ]  # fmt: skip
        return data

    async def _alter_configs(self, ctx: RequestContext, request: Any, handler: Handler) -> Any:
        """AlterConfigs and IncrementalAlterConfigs: ALTER_CONFIGS on each resource."""
        codes = [self._config_resource_allowed(ctx, Op.ALTER_CONFIGS, r) for r in request.resources]
        kept = [r for r, c in zip(request.resources, codes, strict=True) if c == 0]
        data = (
            _as_dict(await handler(ctx, dataclasses.replace(request, resources=tuple(kept))))
            if kept
            else {"throttle_time": 0, "responses": []}
        )
        data["responses"] = list(data["responses"]) + [
            {
                "error_code": c,
                "error_message": _MESSAGES[c],
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
        data = _as_dict(await handler(ctx, request))
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
            "topic_authorized_operations": _NOT_REQUESTED}  # fmt: skip


def _offset_error(partition: int, code: int) -> dict[str, Any]:
    return {
        "partition_index": partition,
        "committed_offset": -1,
        "committed_leader_epoch": -1,
        "metadata": "",
        "error_code": code,
    }


def _mask_sensitive(result: Any) -> Any:
    """DescribeConfigs: passwords and JAAS lines come back sensitive and without a value."""
    data = _as_dict(result)
    for res in data.get("results", ()):
        res = res if isinstance(res, dict) else None
        if res is None:
            continue
        for entry in res.get("configs") or ():
            if isinstance(entry, dict) and is_sensitive(entry["name"]):
                entry["value"] = None
                entry["is_sensitive"] = True
                for synonym in entry.get("synonyms") or ():
                    if isinstance(synonym, dict):
                        synonym["value"] = None
    return data
