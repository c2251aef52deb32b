"""Minimal Kafka protocol clients for the benchmarks: the least work a client can do per byte.

A real client (librdkafka through confluent-kafka) spends more CPU per record than kcli's broker
does, so on a 2-core machine a handful of them saturate their own core long before the broker:
the figure then measures the client. These clients speak the same wire protocol to any broker
(kcli or tansu alike) but skip what a client library does on top:

* ``produce``: sends one pre-built record batch (valid CRC-32C, ``records_per_batch`` records of
  ``size`` bytes) again and again, ``in_flight`` requests outstanding (librdkafka's default is
  5), acks=1 or acks=all; the broker validates, stamps and stores every batch as any other.
* ``fetch``: a consumer fetching one partition from offset 0 to ``count`` records: every byte of
  every response is received, the batch headers are walked for the next offset and the record
  count; records are not decoded (a consumer's own work, not the broker's).
* ``metadata``: Metadata requests for every topic, the response read and dropped.

Versions are the non-flexible ones both brokers serve (Produce v7, Fetch v11, Metadata v8), so
the encoders here are a few struct calls. Each client reports its own CPU time
(``resource.getrusage``) so the benchmark prints the clients' CPU next to the broker's.
"""

from __future__ import annotations

import resource
import socket
import struct
import time
from collections.abc import Iterator

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_HEADER = struct.Struct(">hhi")  # api key, api version, correlation id
# batch header: base offset int64, batch length int32, ..., last offset delta int32 at 23,
# ..., records count int32 at 57.
_BATCH_LEN = struct.Struct(">qi")
_LAST_DELTA = struct.Struct(">i")

PRODUCE, FETCH, METADATA = 0, 1, 3
CLIENT_ID = b"kcli-bench"


def cpu_seconds() -> float:
    """User + system CPU this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _string(value: str) -> bytes:
    raw = value.encode()
    return _I16.pack(len(raw)) + raw


def _frame(api_key: int, version: int, correlation: int, body: bytes) -> bytes:
    header = _HEADER.pack(api_key, version, correlation) + _I16.pack(len(CLIENT_ID)) + CLIENT_ID
    return _I32.pack(len(header) + len(body)) + header + body


class Wire:
    """One blocking connection; responses are read into one reused buffer."""

    def __init__(self, bootstrap: str, buffer_bytes: int = 64 << 20):
        host, _, port = bootstrap.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray(buffer_bytes)
        self.view = memoryview(self.buf)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def send(self, api_key: int, version: int, body: bytes) -> int:
        self.correlation += 1
        self.sock.sendall(_frame(api_key, version, self.correlation, body))
        return self.correlation

    def receive(self) -> memoryview:
        """The next response frame (without its length), valid until the next receive."""
        self._fill(0, 4)
        (size,) = _I32.unpack_from(self.buf, 0)
        if size > len(self.buf):
            self.buf = bytearray(size)
            self.view = memoryview(self.buf)
        self._fill(0, size)
        return self.view[:size]

    def _fill(self, start: int, size: int) -> None:
        got = 0
        while got < size:
            n = self.sock.recv_into(self.view[start + got : start + size])
            if not n:
                raise ConnectionError("the broker closed the connection")
            got += n


def record_batch(records: int, size: int) -> bytes:
    """One uncompressed v2 batch of ``records`` records of ``size`` random-ish bytes."""
    import os

    from kcli.protocol.records import build_batch

    payload = os.urandom(size)
    return build_batch([(None, payload)] * records)


def produce_body(topic: str, partition: int, batch: bytes, acks: int, timeout_ms: int = 30_000) -> bytes:
    return (
        _I16.pack(-1)  # transactional id: null
        + _I16.pack(acks)
        + _I32.pack(timeout_ms)
        + _I32.pack(1)
        + _string(topic)
        + _I32.pack(1)
        + _I32.pack(partition)
        + _I32.pack(len(batch))
        + batch
    )


def produce(
    bootstrap: str,
    topic: str,
    partition: int,
    batches: int,
    batch: bytes,
    acks: int = 1,
    in_flight: int = 5,
    deadline: float | None = None,
) -> int:
    """Send ``batch`` ``batches`` times with ``in_flight`` requests outstanding; returns the
    number of batches acknowledged without error (stops early at ``deadline``)."""
    wire = Wire(bootstrap, buffer_bytes=1 << 16)
    body = produce_body(topic, partition, batch, acks)
    sent = acked = 0
    try:
        while acked < batches:
            while sent < batches and sent - acked < in_flight:
                wire.send(PRODUCE, 7, body)
                sent += 1
            frame = wire.receive()
            # correlation id, responses[1], name, partitions[1], index, error code
            pos = 4 + 4
            (name_len,) = _I16.unpack_from(frame, pos)
            pos += 2 + name_len + 4 + 4
            (error,) = _I16.unpack_from(frame, pos)
            if error:
                raise RuntimeError(f"produce to {topic}-{partition} failed with error {error}")
            acked += 1
            if deadline is not None and time.monotonic() > deadline:
                break
    finally:
        wire.close()
    return acked


def fetch_body(topic: str, partition: int, offset: int, max_bytes: int, max_wait_ms: int = 500) -> bytes:
    return (
        _I32.pack(-1)  # replica id
        + _I32.pack(max_wait_ms)
        + _I32.pack(1)  # min bytes
        + _I32.pack(max_bytes)
        + b"\x00"  # read_uncommitted
        + _I32.pack(0)  # session id
        + _I32.pack(-1)  # session epoch
        + _I32.pack(1)
        + _string(topic)
        + _I32.pack(1)
        + _I32.pack(partition)
        + _I32.pack(-1)  # current leader epoch
        + struct.pack(">q", offset)
        + struct.pack(">q", -1)  # log start offset
        + _I32.pack(max_bytes)
        + _I32.pack(0)  # forgotten topics
        + _I16.pack(0)  # rack id ""
    )


def batches_in(records: memoryview) -> Iterator[tuple[int, int, int]]:
    """(base offset, next offset, record count) of each whole batch."""
    pos, end = 0, len(records)
    while end - pos >= 61:
        base, length = _BATCH_LEN.unpack_from(records, pos)
        size = 12 + length
        if pos + size > end:
            return
        (delta,) = _LAST_DELTA.unpack_from(records, pos + 23)
        (count,) = _I32.unpack_from(records, pos + 57)
        yield base, base + delta + 1, count
        pos += size


def fetch(
    bootstrap: str, topic: str, partition: int, count: int, max_bytes: int = 1 << 20, offset: int = 0
) -> tuple[int, int]:
    """Fetch ``topic``-``partition`` from ``offset`` until ``count`` records came back;
    returns (records, bytes of record batches received)."""
    wire = Wire(bootstrap)
    got = received = 0
    try:
        while got < count:
            wire.send(FETCH, 11, fetch_body(topic, partition, offset, max_bytes))
            frame = wire.receive()
            # correlation, throttle, error, session, responses[1], topic, partitions[1]
            pos = 4 + 4 + 2 + 4 + 4
            (name_len,) = _I16.unpack_from(frame, pos)
            pos += 2 + name_len + 4
            # index, error, high watermark, last stable, log start
            (error,) = _I16.unpack_from(frame, pos + 4)
            if error:
                raise RuntimeError(f"fetch of {topic}-{partition} at {offset} failed with error {error}")
            pos += 4 + 2 + 8 + 8 + 8
            (aborted,) = _I32.unpack_from(frame, pos)
            pos += 4 + max(aborted, 0) * 16 + 4  # aborted transactions, preferred read replica
            (size,) = _I32.unpack_from(frame, pos)
            records = frame[pos + 4 : pos + 4 + max(size, 0)]
            for base, nxt, n in batches_in(records):
                if nxt > offset:
                    got += n if base >= offset else nxt - offset
                    offset = nxt
            received += len(records)
    finally:
        wire.close()
    return got, received


def metadata_all(bootstrap: str, requests: int) -> int:
    """Send ``requests`` Metadata requests for every topic, one at a time; returns the bytes of
    the last response."""
    wire = Wire(bootstrap)
    body = _I32.pack(-1) + b"\x01" + b"\x00" + b"\x00"  # all topics, auto-create, no authorized ops
    size = 0
    try:
        for _ in range(requests):
            wire.send(METADATA, 8, body)
            size = len(wire.receive())
    finally:
        wire.close()
    return size
