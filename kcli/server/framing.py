"""One connection's byte stream cut into request frames (bodies without their length prefix).

Frames are cut by an :class:`asyncio.BufferedProtocol` rather than read through asyncio streams,
so a request's bytes are copied once, and a connection costs no stream objects. Memory follows
what a client actually sent, never what it announced:

* every connection receives into ONE receive area shared by the whole server (the event loop
  fills and empties it within one callback), so an idle connection holds no buffer at all; only
  the unfinished tail of a read is kept, in a buffer of its own size;
* a large frame (a produce request) is received straight into its own buffer, which grows as its
  bytes arrive (doubling, up to the announced size): a 16 MiB length prefix alone costs nothing.
  Processed large-frame buffers go back to a small server-wide free list, so steady produce
  traffic reuses them instead of allocating (and zero-filling) fresh memory per request;
* with ``queued.max.request.bytes`` set, a frame's announced size is reserved from the server's
  :class:`~kcli.server.memory_pool.MemoryPool` when its length prefix arrives; a connection that
  finds the pool empty stops being read until handled requests give their bytes back (Kafka's
  muting under memory pressure);
* a connection stops being read while more than ``_PAUSE_BYTES`` of its frames wait unprocessed.

A length prefix outside 8..``socket.request.max.bytes`` ends the connection after the frames
before it are answered.
"""

from __future__ import annotations

import asyncio
import collections
import struct
from typing import TYPE_CHECKING

from kcli.server.memory_pool import MemoryPool

if TYPE_CHECKING:
    from typing import Protocol

    class FrameServer(Protocol):
        max_request_bytes: int
        pool: MemoryPool | None
        buffers: ReceiveBuffers


_LEN = struct.Struct(">i")

RECV_AREA = 256 * 1024  # the shared receive area: at most this much is read per callback
_SMALL_MAX = 64 * 1024  # frames up to this size are gathered from the receive area
_FIRST_CHUNK = 64 * 1024  # a large frame's buffer starts this big (or twice what arrived) and doubles
_ROUND = 256 * 1024  # ... up to its size rounded up to this, so a kept buffer fits the next frames
_SPARE_MAX = 4 << 20  # processed frame buffers up to this size are kept for reuse ...
_SPARES_TOTAL = 16 << 20  # ... up to this much in all, server-wide
_PAUSE_BYTES = 4 << 20  # stop reading a connection while this much waits unprocessed
_WRITE_HIGH = 1 << 20  # wait for the client to read once this much response data is queued


def _rounded(size: int) -> int:
    return -(-size // _ROUND) * _ROUND


class ReceiveBuffers:
    """The server-wide receive area and the free list of large-frame buffers."""

    def __init__(self) -> None:
        self.area = memoryview(bytearray(RECV_AREA))
        self.spares: list[bytearray] = []
        self.spare_bytes = 0

    def take(self, size: int) -> bytearray | None:
        """The smallest kept buffer that holds ``size`` bytes, or None."""
        best = None
        for i, buf in enumerate(self.spares):
            if len(buf) >= size and (best is None or len(buf) < len(self.spares[best])):
                best = i
        if best is None:
            return None
        buf = self.spares.pop(best)
        self.spare_bytes -= len(buf)
        return buf

    def give(self, buf: bytearray) -> None:
        if len(buf) <= _SPARE_MAX and self.spare_bytes + len(buf) <= _SPARES_TOTAL:
            self.spares.append(buf)
            self.spare_bytes += len(buf)


class FrameConnection(asyncio.BufferedProtocol):
    """Cuts one connection's stream into frames and hands them to the request loop in order."""

    __slots__ = (
        "_blocked",
        "_drain_waiter",
        "_eof",
        "_filled",
        "_frame",
        "_frames",
        "_held",
        "_lost",
        "_pending",
        "_queue_full",
        "_queued",
        "_reading_paused",
        "_size",
        "_waiter",
        "_writing_paused",
        "bad_size",
        "peer",
        "server",
        "transport",
    )

    def __init__(self, server: FrameServer):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("?", 0)
        self._pending: bytearray | None = None  # the start of the next frame, length prefix included
        self._size = -1  # size of the frame in _pending or _frame, once its prefix is known
        self._frame: bytearray | None = None  # a large frame received straight into its own buffer
        self._filled = 0
        self._frames: collections.deque[bytes | memoryview] = collections.deque()
        self._queued = 0
        self._held = 0  # bytes reserved from the memory pool (frames in progress and queued)
        self._blocked = False  # waiting for the memory pool
        self._queue_full = False
        self.bad_size: int | None = None  # a frame length outside 8..max: close after earlier frames
        self._eof = False  # the client closed its side: answer what it sent, then close
        self._lost = False
        self._reading_paused = False
        self._writing_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None

    # --- asyncio protocol callbacks ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=_WRITE_HIGH)
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.peer = (peer[0], peer[1])

    def get_buffer(self, sizehint: int) -> memoryview:
        frame = self._frame
        if frame is None:
            return self.server.buffers.area
        if self._filled == len(frame):  # full: move to one twice as big (views of it may live on)
            grown = bytearray(min(_rounded(self._size), 2 * len(frame)))
            grown[: self._filled] = frame
            self._frame = frame = grown
        return memoryview(frame)[self._filled : min(len(frame), self._size)]

    def buffer_updated(self, nbytes: int) -> None:
        frame = self._frame
        if frame is None:
            self._take(self.server.buffers.area[:nbytes])
            return
        self._filled += nbytes
        if self._filled == self._size:
            self._frame = None
            self._push(memoryview(frame)[: self._size].toreadonly())

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return True  # keep the transport open to write the remaining responses

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        pool = self.server.pool
        if pool is not None:
            pool.forget(id(self))
            held, self._held = self._held, 0
            if held:
                pool.release(held)
        self._pending = self._frame = None
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
    def _take(self, data: memoryview) -> None:
        """Cut ``data`` (the shared area: consumed before returning) after what is pending."""
        if self.bad_size is not None:
            return
        pos, n = 0, len(data)
        pending = self._pending
        if pending is not None:
            if self._blocked:
                pending += data
                return
            if self._size < 0:
                k = min(4 - len(pending), n)
                pending += data[:k]
                pos = k
                if len(pending) < 4:
                    return
                if not self._admit(_LEN.unpack_from(pending)[0]):
                    pending += data[pos:]
                    return
            if self._size > _SMALL_MAX:  # a large frame whose body starts in this read
                if pos == n:
                    return
                self._pending = None
                take = min(self._size, n - pos)
                self._start_large(self._size, data[pos : pos + take])
                pos += take
                if self._frame is not None:
                    return
            else:
                need = 4 + self._size - len(pending)
                k = min(need, n - pos)
                pending += data[pos : pos + k]
                pos += k
                if k < need:
                    return
                self._pending = None
                self._push(memoryview(pending)[4:].toreadonly())
        while pos < n:
            if n - pos < 4:
                self._pending, self._size = bytearray(data[pos:]), -1
                return
            (size,) = _LEN.unpack_from(data, pos)
            if not self._admit(size):
                self._pending = bytearray(data[pos:]) if self._blocked else None
                return
            body = pos + 4
            if n - body >= size:
                self._push(bytes(data[body : body + size]))
                pos = body + size
            elif size <= _SMALL_MAX or n == body:  # gathered; a large one waits for body bytes
                self._pending = bytearray(data[pos:])
                return
            else:
                self._start_large(size, data[body:])
                return

    def _admit(self, size: int) -> bool:
        """Check a frame's announced size and reserve it from the memory pool."""
        if size < 8 or size > self.server.max_request_bytes:
            self.bad_size = size
            self._update_reading()
            self._wake()
            return False
        pool = self.server.pool
        if pool is not None:
            if not pool.try_reserve(size):
                self._blocked = True
                self._update_reading()
                pool.wait(id(self), self._unblock)
                return False
            self._held += size
        self._size = size
        return True

    def _unblock(self) -> None:
        """The memory pool has room again: take up the frame that waited for it."""
        self._blocked = False
        pending, self._pending, self._size = self._pending, None, -1
        self._update_reading()
        if pending and not self._lost:
            self._take(memoryview(pending))

    def _start_large(self, size: int, first: memoryview) -> None:
        frame = self.server.buffers.take(size)
        if frame is None:
            frame = bytearray(min(_rounded(size), max(_FIRST_CHUNK, 2 * len(first))))
        frame[: len(first)] = first
        self._size, self._filled = size, len(first)
        if self._filled == size:
            self._push(memoryview(frame)[:size].toreadonly())
        else:
            self._frame = frame

    def _push(self, frame: bytes | memoryview) -> None:
        self._frames.append(frame)
        self._queued += len(frame)
        self._size = -1
        if self._queued > _PAUSE_BYTES:
            self._queue_full = True
            self._update_reading()
        self._wake()

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        pause = self._blocked or self._queue_full or self.bad_size is not None
        if pause and not self._reading_paused:
            self._reading_paused = True
            transport.pause_reading()
        elif not pause and self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()

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
        if self._queue_full and self._queued <= _PAUSE_BYTES // 2:
            self._queue_full = False
            self._update_reading()
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
        """``frame`` was handled (requests keep no view of it): give back its memory and buffer."""
        size = len(frame)
        if isinstance(frame, memoryview):
            base = frame.obj
            frame.release()
            if isinstance(base, bytearray) and size > _SMALL_MAX:
                self.server.buffers.give(base)
        pool = self.server.pool
        if pool is not None and self._held >= size:
            self._held -= size
            pool.release(size)

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
