"""SaslHandshake and SaslAuthenticate outside an authentication exchange.

On a SASL listener the exchange is handled before requests reach the API table (see
``kcli.server.security.authenticator``). These handlers answer the requests where Kafka's
KafkaApis does: on a listener without SASL, or after authentication, with ILLEGAL_SASL_STATE.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.apis.registry import RequestContext, api


@api(17, "SaslHandshake", 0, 1)
async def sasl_handshake(ctx: RequestContext, request: Any) -> dict:
    security = ctx.broker.security
    listener = security.settings.listeners.get(ctx.listener) if security is not None else None
    return {
        "error_code": ErrorCode.illegal_sasl_state.value,
        "mechanisms": list(listener.mechanisms) if listener else [],
    }


@api(36, "SaslAuthenticate", 0, 2)
async def sasl_authenticate(ctx: RequestContext, request: Any) -> dict:
    return {
        "error_code": ErrorCode.illegal_sasl_state.value,
        "error_message": "SaslAuthenticate request received after successful authentication",
        "auth_bytes": b"",
        "session_lifetime": 0,
    }
