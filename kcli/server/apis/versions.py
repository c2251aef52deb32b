"""ApiVersions: the table of served APIs, so clients pick versions we implement."""

from __future__ import annotations

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import APIS, RequestContext, api


@api(18, "ApiVersions", 0, 4)
async def api_versions(ctx: RequestContext, request: object) -> dict:
    return {
        "error_code": ErrorCode.none,
        "api_keys": [
            {"api_key": s.key, "min_version": s.min_version, "max_version": s.max_version}
            for s in sorted(APIS.values(), key=lambda s: s.key)
            if s.enabled is None or s.enabled(ctx.broker)
        ],
        "throttle_time": 0,
        "supported_features": [],
        "finalized_features_epoch": -1,
        "finalized_features": [],
        "zk_migration_ready": False,
    }
