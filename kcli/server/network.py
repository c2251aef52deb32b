"""The socket server: length-prefixed frames in, responses out, in request order per connection.

Like Kafka's own SocketServer, a connection has at most one request in processing at a time (the
next one is taken only after the response is queued), which gives clients their ordering
guarantee without per-connection bookkeeping. Anything a client sends can at worst close its own
connection: oversized or negative frame lengths, frames that do not decode, unknown API keys.

Frames are cut by an :class:`asyncio.BufferedProtocol` rather than read through asyncio streams:
the kernel writes small frames into one receive area per connection and large ones (produce
requests) straight into a buffer of their own, so a request's bytes are copied once instead of
three times, and a connection costs no stream objects or per-read timeouts.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import itertools
import logging
import os
import struct
import sys
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

_RECV_AREA = 256 * 1024  # per-connection receive area for small frames
_COMPACT_BELOW = 16 * 1024  # move unparsed bytes to the front when less room is left
_DIRECT_MAX = 16 << 20  # frames up to this size are received straight into their own buffer
_SPARE_MAX = 4 << 20  # a processed frame buffer up to this size is kept for the next frame
_PAUSE_BYTES = 4 << 20  # stop reading a connection while this much waits unprocessed
_WRITE_HIGH = 1 << 20  # wait for the client to read once this much response data is queued


_M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
_M_MMAP_THRESHOLD = -3
_HEAP_KEEP = 16 << 20


def _keep_request_buffers_in_the_heap() -> None:
    """Let glibc reuse freed request-sized blocks instead of returning them to the OS each time.

    Every produce request allocates a few buffers of its own size (its frame, the records that
    kio copies out of it, the response) and frees them at once. With glibc's adaptive defaults
    that either maps and unmaps them (over 128 KiB) or grows and trims the heap around them, so
    each request paid for fresh, zero-filled pages: profiling showed ~3 brk calls per 1 MB
    request and half the broker's CPU time in the kernel. Fixed thresholds of 16 MiB keep blocks
    up to that size in the heap and at most that much free memory unreturned. No-op elsewhere.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_KEEP)
        libc.mallopt(_M_TRIM_THRESHOLD, _HEAP_KEEP)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        pass


class _Connection(asyncio.BufferedProtocol):
    """Cuts one connection's byte stream into frames (bodies without their length prefix)."""

    def __init__(self, server: BrokerServer):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("?", 0)
        self._area = bytearray(_RECV_AREA)
        self._view = memoryview(self._area)
        self._start = 0  # unparsed bytes are _area[_start:_end]
        self._end = 0
        self._frame: bytearray | None = None  # a large frame being received into its own buffer
        self._direct = False  # received straight into _frame (else grown through the area)
        self._filled = 0
        self._frame_size = 0
        # The buffer of the last large frame, once processed: reused, because allocating and
        # freeing a fresh one per produce request made the heap grow and shrink (brk) each time.
        self._spare: bytearray | None = None
        self._frames: collections.deque[bytes | memoryview] = collections.deque()
        self._queued = 0
        self.bad_size: int | None = None  # a frame length outside 8..max: close after earlier frames
        self._eof = False  # the client closed its side: answer what it sent, then close
        self._lost = False
        self._reading_paused = False
        self._writing_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None

    # --- asyncio protocol callbacks ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=_WRITE_HIGH)
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.peer = (peer[0], peer[1])
        self.task = asyncio.get_running_loop().create_task(self.server._serve_connection(self))

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._frame is not None:
            if self._direct:  # the kernel fills the frame itself
                return memoryview(self._frame)[self._filled : self._frame_size]
            return self._view  # growing (a frame over _DIRECT_MAX): through the receive area
        if self._start == self._end:
            self._start = self._end = 0
        elif len(self._area) - self._end < _COMPACT_BELOW:
            n = self._end - self._start
            self._area[:n] = self._area[self._start : self._end]
            self._start, self._end = 0, n
        return self._view[self._end :]

    def buffer_updated(self, nbytes: int) -> None:
        frame = self._frame
        if frame is not None:
            if self._direct:
                self._filled += nbytes
                if self._filled == self._frame_size:
                    self._frame = None
                    self._push(memoryview(frame)[: self._frame_size].toreadonly())
                return
            take = min(nbytes, self._frame_size - len(frame))
            frame += self._view[:take]
            if len(frame) < self._frame_size:
                return
            self._frame = None
            self._push(memoryview(frame).toreadonly())
            self._start, self._end = take, nbytes
        else:
            self._end += nbytes
        self._cut()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return True  # keep the transport open to write the remaining responses

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._wake()
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionResetError("connection lost"))

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- framing ------------------------------------------------------------------------------
    def _cut(self) -> None:
        area, view = self._area, self._view
        max_bytes = self.server.max_request_bytes
        while self.bad_size is None:
            avail = self._end - self._start
            if avail < 4:
                return
            (size,) = _LEN.unpack_from(area, self._start)
            if size < 8 or size > max_bytes:
                self.bad_size = size
                self._pause_reading()
                self._wake()
                return
            body = self._start + 4
            if avail - 4 >= size:
                self._push(bytes(view[body : body + size]))
                self._start = body + size
                continue
            if size + 4 <= len(area):
                return  # fits in the receive area once more bytes arrive
            have = self._end - body
            self._direct = size <= _DIRECT_MAX
            if self._direct:
                spare, self._spare = self._spare, None
                frame = spare if spare is not None and len(spare) >= size else bytearray(size)
                frame[:have] = view[body : self._end]
                self._filled = have
            else:
                frame = bytearray(view[body : self._end])
            self._frame, self._frame_size = frame, size
            self._start = self._end = 0
            return

    def _push(self, frame: bytes | memoryview) -> None:
        self._frames.append(frame)
        self._queued += len(frame)
        if self._queued > _PAUSE_BYTES:
            self._pause_reading()
        self._wake()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self.transport.is_closing():
            self._reading_paused = True
            self.transport.pause_reading()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- used by the request loop -------------------------------------------------------------
    def next_frame(self) -> bytes | memoryview | None:
        """The next complete frame, or None when none is ready."""
        if not self._frames:
            return None
        frame = self._frames.popleft()
        self._queued -= len(frame)
        if self._reading_paused and self._queued <= _PAUSE_BYTES // 2 and self.bad_size is None:
            self._reading_paused = False
            assert self.transport is not None
            if not self.transport.is_closing():
                self.transport.resume_reading()
        return frame

    async def wait_for_data(self) -> None:
        """Return when a frame is ready, the length prefix was bad, or the peer went away."""
        if self._frames or self.at_end:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def recycle(self, frame: bytes | memoryview) -> None:
        """``frame`` was decoded (requests keep no view of it): its buffer may take the next one."""
        if isinstance(frame, memoryview):
            base = frame.obj
            frame.release()
            spare = self._spare
            if (
                isinstance(base, bytearray)
                and len(base) <= _SPARE_MAX
                and (spare is None or len(base) > len(spare))
            ):
                self._spare = base

    @property
    def at_end(self) -> bool:
        return self._eof or self._lost or self.bad_size is not None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert self.transport is not None
        self.transport.write(data)

    async def drain(self) -> None:
        if self._lost:
            raise ConnectionResetError("connection lost")
        if not self._writing_paused:
            return
        self._drain_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._drain_waiter
        finally:
            self._drain_waiter = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


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
        _keep_request_buffers_in_the_heap()
        loop = asyncio.get_running_loop()
        for listener in self.broker.config.client_listeners:
            try:
                server = await loop.create_server(
                    lambda: _Connection(self),
                    host=listener.host or None,
                    port=listener.port,
                    reuse_address=True,
                )
            except OSError as exc:  # Kafka's SocketServer wording, e.g. "...: Address already in use."
                reason = os.strerror(exc.errno) if exc.errno else str(exc)
                raise OSError(
                    f"Socket server failed to bind to {listener.bind_host}:{listener.port}: {reason}."
                ) from None
            self.servers.append(server)
            log.info("Awaiting socket connections on %s:%d.", listener.bind_host, listener.port)

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for task in list(self.connections):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()

    async def _serve_connection(self, conn: _Connection) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        peer = conn.peer
        conn_id = f"{peer[0]}:{peer[1]}-{next(self._ids)}"
        try:
            await self._request_loop(conn, peer, conn_id)
        except (ConnectionError, TimeoutError):
            pass
        except asyncio.CancelledError:
            pass
        except DecodeError as exc:
            log.info("Closing connection %s: %s", conn_id, exc)
        except Exception:  # a bug in a handler must not take the broker down
            log.exception("Closing connection %s after an unexpected error", conn_id)
        finally:
            self.connections.discard(task)
            conn.close()

    async def _request_loop(self, conn: _Connection, peer: tuple[str, int], conn_id: str) -> None:
        while True:
            frame = conn.next_frame()
            if frame is None:
                if conn.at_end:
                    if conn.bad_size is not None:
                        log.warning(
                            "Closing connection %s: request size %d is outside 8..%d (socket.request.max.bytes)",
                            conn_id,
                            conn.bad_size,
                            self.max_request_bytes,
                        )
                    return
                async with asyncio.timeout(self.idle_timeout_s):
                    await conn.wait_for_data()
                continue
            response = await self._dispatch(frame, peer, conn_id)
            conn.recycle(frame)
            if response is None:
                continue
            if isinstance(response, list):
                # Chunks from a fast encoder: record batches are written as they were read,
                # uncopied (writelines would join them into one new buffer first).
                for chunk in response:
                    conn.write(chunk)
            else:
                conn.write(response)
            await conn.drain()

    async def _dispatch(
        self, frame: bytes | memoryview, peer: tuple[str, int], conn_id: str
    ) -> bytes | list[Any] | None:
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
