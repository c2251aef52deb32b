"""Malformed and hostile input closes one connection at most; the broker keeps serving real clients."""

from __future__ import annotations

import os
import random
import socket
import struct
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from tests.broker_process import BrokerProcess


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _send(port: int, payload: bytes) -> bytes:
    """Send raw bytes, half-close, and return whatever the broker answers before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def _request(api_key: int, version: int, correlation: int, body: bytes = b"", client: bytes = b"t") -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation, len(client)) + client
    frame = header + body
    return struct.pack(">i", len(frame)) + frame


def _round_trip(bootstrap: str, topic: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, b"still serving")
    assert producer.flush(15) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "h"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    msg = consumer.poll(15)
    consumer.close()
    assert msg is not None and msg.value() == b"still serving"


def test_garbage_frames_and_idle_connections(broker: BrokerProcess) -> None:
    port = broker.port
    rng = random.Random(1234)
    # Truncated frame: announces 100 bytes, sends 10, closes.
    assert _send(port, struct.pack(">i", 100) + os.urandom(10)) == b""
    # Oversized (over socket.request.max.bytes) and negative lengths.
    assert _send(port, struct.pack(">i", 200 * 1024 * 1024) + b"x" * 100) == b""
    assert _send(port, struct.pack(">i", -5) + b"x" * 10) == b""
    # Unknown API key.
    assert _send(port, _request(999, 0, 1)) == b""
    # A known API with a body that does not decode.
    assert _send(port, _request(3, 12, 2, body=b"\xff" * 7)) == b""
    # Random frames of random sizes.
    for _ in range(50):
        size = rng.randint(0, 300)
        _send(port, struct.pack(">i", size) + rng.randbytes(size))

    # An unsupported ApiVersions version is answered with a v0 error response (UNSUPPORTED_VERSION).
    answer = _send(port, _request(18, 99, 7))
    length, correlation, error = struct.unpack_from(">iih", answer)
    assert (length, correlation, error) == (len(answer) - 4, 7, 35)

    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(300)]
    try:
        _round_trip(broker.bootstrap, "after-garbage")
        assert _rss_kib(broker.pid) < 200 * 1024, "broker memory grew unbounded"
    finally:
        for s in idle:
            s.close()
    assert broker.proc is not None and broker.proc.poll() is None


def test_idle_connections_are_reaped(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path, overrides={"connections.max.idle.ms": "300"}).start()
    try:
        with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
            assert s.recv(1) == b""  # the broker closed the idle connection (recv returns at EOF)
    finally:
        broker.kill()


def test_a_flood_of_16_mib_length_prefixes_costs_no_memory(broker: BrokerProcess) -> None:
    """20 connections announce 16 MiB requests and send only a little of them: the broker
    allocates for bytes that arrive, not for what a prefix announces (it used to grow by 325 MiB),
    and keeps serving real clients meanwhile."""
    _round_trip(broker.bootstrap, "before-flood")
    base = _rss_kib(broker.pid)
    flood = []
    try:
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
            s.sendall(struct.pack(">i", 16 * 1024 * 1024) + b"\0" * 1000)
            flood.append(s)
        _round_trip(broker.bootstrap, "during-flood")  # accepted after the flood: all 20 are read
        grown_mib = (_rss_kib(broker.pid) - base) / 1024
        assert grown_mib < 20, f"broker RSS grew {grown_mib:.0f} MiB"
    finally:
        for s in flood:
            s.close()
    assert broker.proc is not None and broker.proc.poll() is None
