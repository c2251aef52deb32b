"""Raw Kafka requests for tests that need exact protocol answers (error codes a client library
hides or retries): any API and version, over kcli's own wire client
(:class:`kcli.protocol.connection.BrokerConnection`, kio's codecs from Kafka's schemas)."""

from __future__ import annotations

from typing import Any

from kcli.protocol.connection import BrokerConnection


class Connection(BrokerConnection):
    """One TCP connection to a broker given as ``host:port``; requests are answered in order."""

    def __init__(self, address: str, timeout: float = 15.0):
        host, _, port = address.rpartition(":")
        super().__init__(host, int(port), timeout, client_id="kcli-test")


def code(value: Any) -> int:
    """An error code field as an int (kio decodes it as an ErrorCode enum)."""
    return int(getattr(value, "value", value))
