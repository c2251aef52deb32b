"""DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554), as Kafka answers them.

Describing needs DESCRIBE on the cluster, altering ALTER on the cluster. The client sends the salt
and the salted password; the broker keeps the salt, StoredKey, ServerKey and iterations, as Kafka.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api
from kcli.server.security.acls import CLUSTER_NAME, AclOperation, ResourceType

CLUSTER_DENIED = ErrorCode.cluster_authorization_failed.value


@api(50, "DescribeUserScramCredentials", 0, 0)
async def describe_user_scram_credentials(ctx: RequestContext, request: Any) -> dict:
    if not ctx.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME):
        return {"throttle_time": 0, "error_code": CLUSTER_DENIED, "error_message": None, "results": []}
    security = ctx.broker.security
    users = None if request.users is None else [u.name for u in request.users]
    results = security.describe_scram(users) if security is not None else []
    return {"throttle_time": 0, "error_code": 0, "error_message": None, "results": results}


@api(51, "AlterUserScramCredentials", 0, 0)
async def alter_user_scram_credentials(ctx: RequestContext, request: Any) -> dict:
    names = [d.name for d in request.deletions] + [u.name for u in request.upsertions]
    if not ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME):
        results = [
            {"user": n, "error_code": CLUSTER_DENIED, "error_message": None} for n in dict.fromkeys(names)
        ]
        return {"throttle_time": 0, "results": results}
    security = ctx.broker.security
    if security is None:
        return {"throttle_time": 0, "results": []}
    return {
        "throttle_time": 0,
        "results": await security.alter_scram(list(request.deletions), list(request.upsertions)),
    }
