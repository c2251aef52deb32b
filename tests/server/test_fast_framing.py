"""The network layer's frame cutter: any split of the byte stream gives the same frames."""

from __future__ import annotations

import random
import struct
from types import SimpleNamespace

import pytest

from kcli.server import network
from kcli.server.network import _Connection


class _Transport:
    def __init__(self) -> None:
        self.paused = False

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_closing(self) -> bool:
        return False


def _connection(max_bytes: int = 100 << 20) -> _Connection:
    conn = _Connection(SimpleNamespace(max_request_bytes=max_bytes))  # type: ignore[arg-type]
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
def test_frames_survive_any_split(max_step: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "_DIRECT_MAX", 2 << 20)  # exercise the growing path too
    rng = random.Random(max_step)
    sizes = [8, 9, 100, 250_000, 262_140, 262_141, 600_000, 8, 3 << 20, 1000, 2 << 20, 500_000, 12]
    if max_step < 4096:
        sizes = [8, 100, 300_000, 9]
    bodies = [rng.randbytes(size) for size in sizes]
    stream = b"".join(struct.pack(">i", len(b)) + b for b in bodies)
    conn = _connection()
    assert _feed(conn, stream, rng, max_step) == bodies
    assert conn.bad_size is None


def test_a_processed_large_frame_buffer_takes_the_next_one() -> None:
    conn = _connection()
    first, second = b"a" * 700_000, b"b" * 500_000
    stream = struct.pack(">i", len(first)) + first
    assert _feed(conn, stream, random.Random(2), 1 << 20) == [first]
    spare = conn._spare
    assert spare is not None
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
    monkeypatch.setattr(network, "_PAUSE_BYTES", 1 << 20)
    conn = _connection()
    body = b"y" * 600_000
    stream = (struct.pack(">i", len(body)) + body) * 3
    _pour(conn, stream)
    assert conn.transport.paused  # type: ignore[union-attr]
    frames = [conn.next_frame() for _ in range(3)]
    assert [bytes(f) for f in frames if f is not None] == [body] * 3
    assert not conn.transport.paused  # type: ignore[union-attr]
