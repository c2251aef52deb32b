"""The socket server: length-prefixed frames in, responses out, in request order per connection.

Like Kafka's own SocketServer, a connection has at most one request in processing at a time (the
next one is read only after the response is queued), which gives clients their ordering guarantee
without per-connection bookkeeping. Anything a client sends can at worst close its own
connection: oversized or negative frame lengths, frames that do not decode, unknown API keys.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import struct
from typing import Any

from kcli.server.apis import ApiSpec, RequestContext, load_all
from kcli.server.broker import Broker
from kcli.server.protocol.codec import (
    DecodeError,
    build,
    decode_request,
    encode_response,
    peek_header,
    response_class,
)

log = logging.getLogger("kafka.network.SocketServer")
_LEN = struct.Struct(">i")
API_VERSIONS = 18
UNSUPPORTED_VERSION = 35


class BrokerServer:
    def __init__(self, broker: Broker):
        self.broker = broker
        self.apis: dict[int, ApiSpec] = load_all()
        self.servers: list[asyncio.Server] = []
        self.connections: set[asyncio.Task[Any]] = set()
        self._ids = itertools.count()
        self.max_request_bytes = broker.config.socket_request_max_bytes
        self.idle_timeout_s = broker.config.connections_max_idle_ms / 1000

    async def start(self) -> None:
        for listener in self.broker.config.client_listeners:
            server = await asyncio.start_server(
                self._serve_connection,
                host=listener.host or None,
                port=listener.port,
                reuse_address=True,
                limit=1 << 20,
            )
            self.servers.append(server)
            log.info("Awaiting socket connections on %s:%d.", listener.bind_host, listener.port)

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for task in list(self.connections):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        peer = writer.get_extra_info("peername") or ("?", 0)
        conn_id = f"{peer[0]}:{peer[1]}-{next(self._ids)}"
        try:
            await self._request_loop(reader, writer, peer, conn_id)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except asyncio.CancelledError:
            pass
        except DecodeError as exc:
            log.info("Closing connection %s: %s", conn_id, exc)
        except Exception:  # a bug in a handler must not take the broker down
            log.exception("Closing connection %s after an unexpected error", conn_id)
        finally:
            self.connections.discard(task)
            writer.close()

    async def _request_loop(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: tuple[str, int], conn_id: str
    ) -> None:
        while True:
            async with asyncio.timeout(self.idle_timeout_s):
                head = await reader.readexactly(4)
            (size,) = _LEN.unpack(head)
            if size < 8 or size > self.max_request_bytes:
                log.warning(
                    "Closing connection %s: request size %d is outside 8..%d (socket.request.max.bytes)",
                    conn_id,
                    size,
                    self.max_request_bytes,
                )
                return
            async with asyncio.timeout(self.idle_timeout_s):
                frame = await reader.readexactly(size)
            response = await self._dispatch(frame, peer, conn_id)
            if response is None:
                continue
            if isinstance(response, list):
                # Chunks from a fast encoder: record batches are written as they were read,
                # uncopied (writelines would join them into one new buffer first).
                for chunk in response:
                    writer.write(chunk)
            else:
                writer.write(response)
            if writer.transport.get_write_buffer_size() > 1 << 20:
                await writer.drain()

    async def _dispatch(self, frame: bytes, peer: tuple[str, int], conn_id: str) -> bytes | list[Any] | None:
        api_key, api_version, correlation_id = peek_header(frame)
        spec = self.apis.get(api_key)
        if spec is None:
            raise DecodeError(f"unknown API key {api_key}")
        if not spec.min_version <= api_version <= spec.max_version:
            if api_key == API_VERSIONS:
                return self._api_versions_fallback(correlation_id)
            raise DecodeError(f"unsupported version {api_version} of {spec.name}")
        header, body = decode_request(frame, api_key, api_version)
        ctx = RequestContext(self.broker, header, peer[0], peer[1], conn_id)
        result = await spec.handler(ctx, body)
        if result is None:
            return None
        if isinstance(result, dict):
            if spec.encoder is not None:
                chunks = spec.encoder(api_version, correlation_id, result)
                if chunks is not None:
                    return chunks
            result = build(ctx.response_cls, result)
        return encode_response(result, correlation_id)

    def _api_versions_fallback(self, correlation_id: int) -> bytes:
        """An ApiVersions v0 response with UNSUPPORTED_VERSION, so the client retries lower."""
        cls = response_class(API_VERSIONS, 0)
        body = build(
            cls,
            {
                "error_code": UNSUPPORTED_VERSION,
                "api_keys": [
                    {"api_key": s.key, "min_version": s.min_version, "max_version": s.max_version}
                    for s in sorted(self.apis.values(), key=lambda s: s.key)
                ],
            },
        )
        return encode_response(body, correlation_id)
