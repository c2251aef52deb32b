"""A minimal inter-broker Kafka client: one connection, one request at a time, kio codecs.

Followers fetch from leaders with the real Fetch and OffsetForLeaderEpoch requests (replica id
set), as Kafka's replica fetcher does, so replication goes through the same handlers, limits and
record-batch framing as client traffic.
"""

from __future__ import annotations

import asyncio
import io
import struct
from typing import Any

from kio.serial import entity_reader, entity_writer

from kcli.server.protocol.codec import build, request_class, response_class

_LEN = struct.Struct(">i")
MAX_RESPONSE = 200 * 1024 * 1024


class KafkaConnection:
    def __init__(self, host: str, port: int, client_id: str, security: Any = None):
        self.host = host
        self.port = port
        self.client_id = client_id
        #: how to reach a secured inter-broker listener (kcli.server.security.setup.InterBrokerClient)
        self.security = security
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._correlation = 0

    @property
    def connected(self) -> bool:
        return self._writer is not None

    async def open(self, timeout_s: float = 5.0) -> None:
        security = self.security
        context = security.ssl_context if security is not None else None
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=context), timeout_s
        )
        if security is not None and security.mechanism is not None:  # SASL_PLAINTEXT / SASL_SSL
            from kcli.server.security.sasl_client import authenticate

            try:
                await authenticate(self.request, security.mechanism, security.username, security.password)
            except Exception:
                await self.close()
                raise

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
        cls = request_class(api_key, version)
        header_cls = cls.__header_schema__
        buf = io.BytesIO()
        buf.write(b"\0\0\0\0")
        entity_writer(header_cls)(
            buf,
            header_cls(
                request_api_key=api_key,
                request_api_version=version,
                correlation_id=self._correlation,
                client_id=self.client_id,
            ),
        )
        entity_writer(cls)(buf, build(cls, body))
        data = buf.getbuffer()
        _LEN.pack_into(data, 0, len(data) - 4)
        del data
        self._writer.write(buf.getvalue())
        await self._writer.drain()
        size = _LEN.unpack(await asyncio.wait_for(self._reader.readexactly(4), timeout_s))[0]
        if not 0 < size <= MAX_RESPONSE:
            raise ConnectionError(f"bad response size {size}")
        frame = await asyncio.wait_for(self._reader.readexactly(size), timeout_s)
        rcls = response_class(api_key, version)
        header, pos = entity_reader(rcls.__header_schema__)(frame, 0)
        if header.correlation_id != self._correlation:
            raise ConnectionError("response correlation id does not match the request")
        body_obj, _ = entity_reader(rcls)(frame, pos)
        return body_obj
