"""An asyncio connection to one broker: one request at a time, kio codecs, optionally over TLS.

The broker's own clients use it: followers fetch from leaders with the real Fetch and
OffsetForLeaderEpoch requests (replica id set), as Kafka's replica fetcher does, so replication
goes through the same handlers, limits and record-batch framing as client traffic; the
transaction coordinator sends its markers and verifications the same way. A subclass may log in
after connecting (:meth:`AsyncConnection.login`): the broker's SASL client does
(:class:`kcli.server.cluster.kafka_connection.KafkaConnection`).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from kcli.protocol.frames import LENGTH, decode_response, encode_request

MAX_RESPONSE = 200 * 1024 * 1024


class AsyncConnection:
    def __init__(self, host: str, port: int, client_id: str, ssl_context: ssl.SSLContext | None = None):
        self.host = host
        self.port = port
        self.client_id = client_id
        self.ssl_context = ssl_context
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._correlation = 0

    @property
    def connected(self) -> bool:
        return self._writer is not None

    async def open(self, timeout_s: float = 5.0) -> None:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self.ssl_context), timeout_s
        )
        try:
            await self.login()
        except Exception:
            await self.close()
            raise

    async def login(self) -> None:
        """Authenticate a freshly opened connection; nothing to do on a PLAINTEXT or SSL listener."""

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (OSError, ConnectionError):
                pass

    async def request(self, api_key: int, version: int, body: dict[str, Any], timeout_s: float = 30.0) -> Any:
        """Send one request and return the decoded response body (a kio dataclass)."""
        if self._writer is None or self._reader is None:
            await self.open()
        assert self._writer is not None and self._reader is not None
        self._correlation += 1
        self._writer.write(encode_request(api_key, version, self._correlation, body, self.client_id))
        await self._writer.drain()
        size = LENGTH.unpack(await asyncio.wait_for(self._reader.readexactly(4), timeout_s))[0]
        if not 0 < size <= MAX_RESPONSE:
            raise ConnectionError(f"bad response size {size}")
        frame = await asyncio.wait_for(self._reader.readexactly(size), timeout_s)
        correlation_id, response = decode_response(api_key, version, frame)
        if correlation_id != self._correlation:
            raise ConnectionError("response correlation id does not match the request")
        return response
