"""What every API's authorization rule shares (see :mod:`kcli.server.authorization.api_authorization`):
the ACL questions a rule asks, and the answers it gives for what was denied (Kafka's error
codes and messages, a whole error response of the request's version, one entry per denied topic).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import types
import typing
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext
from kcli.server.security.acls import CLUSTER_NAME, SUPPORTED_OPERATIONS, AclOperation, ResourceType
from kcli.server.security.authorizer import Authorizer

Op, Res = AclOperation, ResourceType
TOPIC_DENIED = ErrorCode.topic_authorization_failed.value
GROUP_DENIED = ErrorCode.group_authorization_failed.value
CLUSTER_DENIED = ErrorCode.cluster_authorization_failed.value
TXN_DENIED = ErrorCode.transactional_id_authorization_failed.value
DENIED_MESSAGES = {
    TOPIC_DENIED: "Topic authorization failed.",
    GROUP_DENIED: "Group authorization failed.",
    CLUSTER_DENIED: "Cluster authorization failed.",
    TXN_DENIED: "Transactional Id authorization failed.",
}
ZERO_UUID = uuid.UUID(int=0)
NOT_REQUESTED = -2147483648  # authorized operations not asked for (Kafka's Int.MinValue)
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
            return ZERO_UUID
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
        data["error_message"] = DENIED_MESSAGES.get(code)
    data.update(fields)
    return data


def as_dict(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        return result
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}


def partition_errors(topic: Any, code: int, **fields: Any) -> dict[str, Any]:
    """A denied topic's entry: each requested partition with ``code`` (and ``fields``)."""
    return {
        "name": topic.name,
        "partitions": [
            {"partition_index": p.partition_index, "error_code": code, **fields} for p in topic.partitions
        ],
    }


def mask_sensitive(result: Any) -> Any:
    """DescribeConfigs: passwords and JAAS lines come back sensitive and without a value."""
    data = as_dict(result)
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


class AuthorizationRules:
    """The helpers of the rules; each family's rules are a subclass, and
    :class:`~kcli.server.authorization.api_authorization.RequestAuthorization` combines them."""

    authorizer: Authorizer | None

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

    @staticmethod
    async def _answer_allowed_topics(
        ctx: RequestContext,
        request: Any,
        handler: Handler,
        allowed: set[str],
        denied_entry: Callable[[Any], dict[str, Any]],
        *,
        name: str = "name",
        field: str = "topics",
        empty: dict[str, Any] | None = None,
    ) -> Any:
        """Run ``handler`` on the request's topics in ``allowed`` (not at all when none is), then
        add ``denied_entry(topic)`` to the response's ``field`` for each other topic, after the
        handler's: how KafkaApis answers a request some of whose topics are denied."""
        denied = [t for t in request.topics if getattr(t, name) not in allowed]
        if not denied:
            return await handler(ctx, request)
        kept = dataclasses.replace(
            request, topics=tuple(t for t in request.topics if getattr(t, name) in allowed)
        )
        data = (
            as_dict(await handler(ctx, kept))
            if kept.topics
            else dict(empty or {"throttle_time": 0, field: []})
        )
        data[field] = list(data[field]) + [denied_entry(t) for t in denied]
        return data
