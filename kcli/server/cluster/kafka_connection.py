"""The broker's connection to another broker: :mod:`kcli.protocol`'s asyncio connection, with TLS
and the SASL login of the inter-broker listener.

Followers fetch from leaders with the real Fetch and OffsetForLeaderEpoch requests (replica id
set), as Kafka's replica fetcher does, so replication goes through the same handlers, limits and
record-batch framing as client traffic.
"""

from __future__ import annotations

from typing import Any

from kcli.protocol.async_connection import AsyncConnection


class KafkaConnection(AsyncConnection):
    def __init__(self, host: str, port: int, client_id: str, security: Any = None):
        super().__init__(host, port, client_id, security.ssl_context if security is not None else None)
        #: how to reach a secured inter-broker listener (kcli.server.security.setup.InterBrokerClient)
        self.security = security

    async def login(self) -> None:
        security = self.security
        if security is not None and security.mechanism is not None:  # SASL_PLAINTEXT / SASL_SSL
            from kcli.server.security.sasl_client import authenticate

            await authenticate(self.request, security.mechanism, security.username, security.password)
