"""The table of served APIs: api key -> version range and handler.

ApiVersions advertises exactly this table, so a client never sends a version we cannot answer.
Each handler is written once for its whole version range: it receives the decoded kio request
and returns a dict (or a kio response dataclass, or None for "no response", as for acks=0
produce) which the network layer builds into the response dataclass of the request's version.
The hot APIs (Produce, Fetch) also register an ``encoder`` that turns their dict straight into
the response frame (``kcli.server.protocol.fast_responses``); it may decline (None) and the
generic path runs instead.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kcli.protocol.messages import response_class
from kcli.server.protocol.codec import RequestHeader
from kcli.server.security.acls import AclOperation, ResourceType
from kcli.server.security.principal import ANONYMOUS, KafkaPrincipal

if TYPE_CHECKING:
    from kcli.server.state.broker import Broker


@dataclass
class RequestContext:
    """What a handler knows about the request beyond its body."""

    broker: Broker
    header: RequestHeader
    client_host: str
    client_port: int
    connection_id: str
    received_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    listener: str = "PLAINTEXT"
    principal: KafkaPrincipal = ANONYMOUS

    @property
    def version(self) -> int:
        return self.header.api_version

    @property
    def client_id(self) -> str:
        return self.header.client_id or ""

    @property
    def response_cls(self) -> type:
        return response_class(self.header.api_key, self.header.api_version)

    def authorize(
        self, operation: AclOperation, resource_type: ResourceType, name: str, log_denied: bool = True
    ) -> bool:
        """May this request's principal do ``operation`` on the resource? Always, without an authorizer."""
        security = self.broker.security
        if security is None or security.authorizer is None:
            return True
        return security.authorizer.authorize(
            self.principal, self.client_host, operation, resource_type, name, log_denied=log_denied
        )


Handler = Callable[[RequestContext, Any], Awaitable[Any]]
# (version, correlation id, handler's dict) -> framed response as chunks, or None to use kio.
Encoder = Callable[[int, int, dict[str, Any]], "list[bytes | bytearray | memoryview] | None"]


@dataclass(frozen=True)
class ApiSpec:
    key: int
    name: str
    min_version: int
    max_version: int
    handler: Handler
    encoder: Encoder | None = None
    # Whether the broker serves the API at all (ApiVersions leaves it out otherwise), for APIs a
    # setting can switch off, as group.coordinator.rebalance.protocols does ConsumerGroupHeartbeat.
    enabled: Callable[[Broker], bool] | None = None


APIS: dict[int, ApiSpec] = {}


def api(
    key: int,
    name: str,
    min_version: int,
    max_version: int,
    encoder: Encoder | None = None,
    enabled: Callable[[Broker], bool] | None = None,
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``key`` at versions min..max (inclusive)."""

    def register(handler: Handler) -> Handler:
        APIS[key] = ApiSpec(key, name, min_version, max_version, handler, encoder, enabled)
        return handler

    return register
