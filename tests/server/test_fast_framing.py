"""The frame cutter (unit tests): any split of the byte stream gives the same frames, and memory
follows what arrived, not what a length prefix announced."""

from __future__ import annotations

import random
import struct
from types import SimpleNamespace

import pytest

from kcli.server import framing
from kcli.server.framing import FrameConnection as _Connection
from kcli.server.framing import ReceiveBuffers
from kcli.server.memory_pool import MemoryPool


class _Transport:
    def __init__(self) -> None:
        self.paused = False

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_closing(self) -> bool:
        return False


def _server(max_bytes: int = 100 << 20, pool: MemoryPool | None = None) -> SimpleNamespace:
    return SimpleNamespace(max_request_bytes=max_bytes, pool=pool, buffers=ReceiveBuffers())


def _connection(max_bytes: int = 100 << 20, server: SimpleNamespace | None = None) -> _Connection:
    conn = _Connection(server or _server(max_bytes))  # type: ignore[arg-type]
    conn.transport = _Transport()  # type: ignore[assignment]
    return conn


def _feed(conn: _Connection, data: bytes, rng: random.Random, max_step: int) -> list[bytes]:
    """Deliver ``data`` as the event loop would (into get_buffer's buffer, in random pieces)."""
    frames: list[bytes] = []
    pos = 0
    while pos < len(data):
        buf = conn.get_buffer(-1)
        n = min(len(buf), rng.randint(1, max_step), len(data) - pos)
        buf[:n] = data[pos : pos + n]
        conn.buffer_updated(n)
        pos += n
        while (frame := conn.next_frame()) is not None:
            frames.append(bytes(frame))
            conn.recycle(frame)  # as the request loop does once the frame is decoded
    return frames


def _pour(conn: _Connection, data: bytes) -> None:
    """Deliver all of ``data`` in buffer-sized pieces without taking any frame out."""
    pos = 0
    while pos < len(data):
        buf = conn.get_buffer(-1)
        n = min(len(buf), len(data) - pos)
        buf[:n] = data[pos : pos + n]
        conn.buffer_updated(n)
        pos += n


@pytest.mark.parametrize("max_step", [1, 7, 4096, 300_000, 10 << 20])
def test_frames_survive_any_split(max_step: int) -> None:
    rng = random.Random(max_step)
    sizes = [8, 9, 100, 65_532, 65_536, 65_537, 250_000, 262_140, 262_141, 600_000, 8, 3 << 20, 1000]
    sizes += [2 << 20, 500_000, 12]
    if max_step < 4096:
        sizes = [8, 100, 300_000, 9]
    bodies = [rng.randbytes(size) for size in sizes]
    stream = b"".join(struct.pack(">i", len(b)) + b for b in bodies)
    conn = _connection()
    assert _feed(conn, stream, rng, max_step) == bodies
    assert conn.bad_size is None


def test_a_processed_large_frame_buffer_takes_the_next_one() -> None:
    server = _server()
    first, second = b"a" * 700_000, b"b" * 500_000
    stream = struct.pack(">i", len(first)) + first
    assert _feed(_connection(server=server), stream, random.Random(2), 1 << 20) == [first]
    assert len(server.buffers.spares) == 1
    spare = server.buffers.spares[0]
    conn = _connection(server=server)  # the free list is server-wide: another connection takes it
    stream = struct.pack(">i", len(second)) + second
    _pour(conn, stream)
    frame = conn.next_frame()
    assert isinstance(frame, memoryview) and frame.obj is spare and frame.readonly
    assert bytes(frame) == second


def test_bad_length_stops_after_earlier_frames() -> None:
    conn = _connection(max_bytes=1000)
    stream = struct.pack(">i", 8) + b"12345678" + struct.pack(">i", 1001) + b"x" * 50
    assert _feed(conn, stream, random.Random(1), 1 << 20) == [b"12345678"]
    assert conn.bad_size == 1001
    assert conn.at_end


def test_reading_pauses_while_much_is_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(framing, "_PAUSE_BYTES", 1 << 20)
    conn = _connection()
    body = b"y" * 600_000
    stream = (struct.pack(">i", len(body)) + body) * 3
    _pour(conn, stream)
    assert conn.transport.paused  # type: ignore[union-attr]
    frames = [conn.next_frame() for _ in range(3)]
    assert [bytes(f) for f in frames if f is not None] == [body] * 3
    assert not conn.transport.paused  # type: ignore[union-attr]


def test_a_length_prefix_alone_allocates_nothing() -> None:
    """A 16 MiB prefix reserves no buffer; the frame's buffer grows only as its bytes arrive."""
    conn = _connection()
    size = 16 << 20
    _pour(conn, struct.pack(">i", size))
    assert conn._frame is None and conn._pending is not None and len(conn._pending) == 4
    _pour(conn, b"z" * 100_000)
    assert conn._frame is not None and len(conn._frame) <= 2 * 100_000 + 64 * 1024
    _pour(conn, b"z" * 1_000_000)
    assert len(conn._frame) <= 2 * 1_100_000
    _pour(conn, b"z" * (size - 1_100_000))
    frame = conn.next_frame()
    assert frame is not None and len(frame) == size and conn._frame is None


def test_memory_pool_mutes_a_connection_until_requests_are_handled() -> None:
    """queued.max.request.bytes: a frame whose prefix finds the pool empty waits, unread, and is
    taken up (bytes intact) once a handled request gives its memory back."""
    pool = MemoryPool(1 << 20)
    server = _server(pool=pool)
    first, second = _connection(server=server), _connection(server=server)
    big, small = b"a" * (1 << 20), b"b" * 1000
    _pour(first, struct.pack(">i", len(big)) + big)
    frame = first.next_frame()
    assert frame is not None and pool.available == 0
    _pour(second, struct.pack(">i", len(small)) + small + struct.pack(">i", 8) + b"12345678")
    assert second.next_frame() is None and second.transport.paused  # type: ignore[union-attr]
    first.recycle(frame)
    assert not second.transport.paused  # type: ignore[union-attr]
    assert [bytes(second.next_frame() or b""), bytes(second.next_frame() or b"")] == [small, b"12345678"]
    assert pool.available == (1 << 20) - 1008


def test_a_lost_connection_gives_its_reservation_back() -> None:
    pool = MemoryPool(10 << 20)
    conn = _connection(server=_server(pool=pool))
    _pour(conn, struct.pack(">i", 8 << 20) + b"x" * 1000)
    assert pool.available == 2 << 20
    conn.connection_lost(None)
    assert pool.available == 10 << 20
