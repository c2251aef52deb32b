"""Broker security: listeners' protocols, SASL, TLS, principals and the authorizer (one job per file)."""

from __future__ import annotations

from typing import Any


def inter_broker_client(broker: Any) -> Any:
    """How this broker's own clients (replica fetchers, transaction markers and verification)
    reach another broker's inter-broker listener: TLS and SASL settings, or None for PLAINTEXT."""
    security = getattr(broker, "security", None)
    return security.settings.inter_broker if security is not None else None
