"""DescribeAcls, CreateAcls and DeleteAcls, as Kafka's AclApis answers them.

Without an authorizer every ACL request answers SECURITY_DISABLED. Describing needs DESCRIBE on
the cluster, creating and deleting ALTER on the cluster (else CLUSTER_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api
from kcli.server.security.acls import (
    CLUSTER_NAME,
    AclBinding,
    AclBindingFilter,
    AclEntry,
    AclOperation,
    AclPermissionType,
    PatternType,
    ResourcePattern,
    ResourceType,
    enum_or_unknown,
)

CLUSTER_DENIED = ErrorCode.cluster_authorization_failed.value


def _enabled(ctx: RequestContext) -> bool:
    security = ctx.broker.security
    return security is not None and security.authorizer is not None


def _filter(item: Any, prefix: str = "") -> AclBindingFilter:
    """A kio DescribeAcls request or DeleteAcls filter as an AclBindingFilter."""
    return AclBindingFilter(
        enum_or_unknown(ResourceType, item.resource_type_filter),  # type: ignore[arg-type]
        item.resource_name_filter,
        enum_or_unknown(PatternType, getattr(item, "pattern_type_filter", PatternType.LITERAL)),  # type: ignore[arg-type]
        item.principal_filter,
        item.host_filter,
        enum_or_unknown(AclOperation, item.operation),  # type: ignore[arg-type]
        enum_or_unknown(AclPermissionType, item.permission_type),  # type: ignore[arg-type]
    )


def _resources(bindings: list[AclBinding]) -> list[dict[str, Any]]:
    """DescribeAclsResponse.aclsResources: ACLs grouped by resource pattern."""

    def key(b: AclBinding) -> tuple:
        return (int(b.pattern.resource_type), b.pattern.name, int(b.pattern.pattern_type))

    out = []
    for (rtype, name, ptype), group in groupby(sorted(bindings, key=lambda b: b.to_json()), key=key):
        out.append(
            {
                "resource_type": rtype,
                "resource_name": name,
                "pattern_type": ptype,
                "acls": [
                    {
                        "principal": b.entry.principal,
                        "host": b.entry.host,
                        "operation": int(b.entry.operation),
                        "permission_type": int(b.entry.permission),
                    }
                    for b in group
                ],
            }
        )
    return out


@api(29, "DescribeAcls", 1, 3)
async def describe_acls(ctx: RequestContext, request: Any) -> dict:
    base = {"throttle_time": 0, "resources": [], "error_message": None}
    if not ctx.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME):
        return {**base, "error_code": CLUSTER_DENIED, "error_message": "Cluster authorization failed."}
    if not _enabled(ctx):
        return {
            **base,
            "error_code": ErrorCode.security_disabled.value,
            "error_message": "No Authorizer is configured on the broker",
        }
    acl_filter = _filter(request)
    problem = acl_filter.problem()
    if problem is not None:
        return {**base, "error_code": ErrorCode.invalid_request.value, "error_message": problem}
    assert ctx.broker.security is not None
    return {**base, "error_code": 0, "resources": _resources(ctx.broker.security.describe_acls(acl_filter))}


@api(30, "CreateAcls", 1, 3)
async def create_acls(ctx: RequestContext, request: Any) -> dict:
    def each(code: int, message: str | None) -> list[dict[str, Any]]:
        return [{"error_code": code, "error_message": message} for _ in request.creations]

    if not ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME):
        return {"throttle_time": 0, "results": each(CLUSTER_DENIED, "Cluster authorization failed.")}
    if not _enabled(ctx):
        return {
            "throttle_time": 0,
            "results": each(ErrorCode.security_disabled.value, "No Authorizer is configured."),
        }
    bindings = [
        AclBinding(
            ResourcePattern(
                enum_or_unknown(ResourceType, c.resource_type),  # type: ignore[arg-type]
                c.resource_name,
                enum_or_unknown(PatternType, c.resource_pattern_type),  # type: ignore[arg-type]
            ),
            AclEntry(
                c.principal,
                c.host,
                enum_or_unknown(AclOperation, c.operation),  # type: ignore[arg-type]
                enum_or_unknown(AclPermissionType, c.permission_type),  # type: ignore[arg-type]
            ),
        )
        for c in request.creations
    ]
    assert ctx.broker.security is not None
    results = await ctx.broker.security.create_acls(bindings)
    return {"throttle_time": 0, "results": [{"error_code": c, "error_message": m} for c, m in results]}


@api(31, "DeleteAcls", 1, 3)
async def delete_acls(ctx: RequestContext, request: Any) -> dict:
    def each(code: int, message: str | None) -> list[dict[str, Any]]:
        return [{"error_code": code, "error_message": message, "matching_acls": []} for _ in request.filters]

    if not ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME):
        return {"throttle_time": 0, "filter_results": each(CLUSTER_DENIED, "Cluster authorization failed.")}
    if not _enabled(ctx):
        return {
            "throttle_time": 0,
            "filter_results": each(ErrorCode.security_disabled.value, "No Authorizer is configured."),
        }
    assert ctx.broker.security is not None
    outcome = await ctx.broker.security.delete_acls([_filter(f) for f in request.filters])
    results = []
    for (code, message), matched in outcome:
        results.append(
            {
                "error_code": code,
                "error_message": message,
                "matching_acls": [
                    {
                        "error_code": 0,
                        "error_message": None,
                        "resource_type": int(b.pattern.resource_type),
                        "resource_name": b.pattern.name,
                        "pattern_type": int(b.pattern.pattern_type),
                        "principal": b.entry.principal,
                        "host": b.entry.host,
                        "operation": int(b.entry.operation),
                        "permission_type": int(b.entry.permission),
                    }
                    for b in matched
                ],
            }
        )
    return {"throttle_time": 0, "filter_results": results}
